// The engine runs in an Electron utility process, never on the main thread: this starts it with
// utilityProcess.fork and hands it to the EngineSupervisor (which does the rest and is Electron-free).
import { utilityProcess } from 'electron';
import type { EngineEvent, EngineProcessOptions } from '../shared/engine-protocol.ts';
import { EngineSupervisor, type SpawnedProcess } from './engine-supervisor.ts';

function spawnUtilityProcess(entry: string): SpawnedProcess {
  const child = utilityProcess.fork(entry, [], { serviceName: 'Photo Dedup engine', stdio: 'inherit' });
  return {
    channel: {
      post: (message) => child.postMessage(message),
      listen(listener) {
        child.on('message', listener);
        return () => child.off('message', listener);
      },
    },
    onExit: (listener) => child.once('exit', listener),
    kill: () => child.kill(),
  };
}

export interface EngineHostOptions {
  /** The built engine process script (out/main/engine-process.js). */
  entry: string;
  open: EngineProcessOptions;
  onEvent(event: EngineEvent): void;
  onCrash?(code: number): void;
}

export function createEngineHost(options: EngineHostOptions): EngineSupervisor {
  return new EngineSupervisor({
    spawn: () => spawnUtilityProcess(options.entry),
    open: options.open,
    onEvent: options.onEvent,
    onCrash: options.onCrash,
  });
}
