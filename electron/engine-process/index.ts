// Entry point of the engine process. In the app it runs as an Electron utility process
// (utilityProcess.fork in electron/main/engine-host.ts) and talks over `process.parentPort`; under
// plain Node (tests) it can be started with child_process.fork (serialization: 'advanced') and talks
// over `process.send`. Either way the same protocol (electron/shared/engine-protocol.ts) and the same
// handlers run; nothing here imports Electron.
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { configureHeicDecoder } from '../engine/decode-heic.ts';
import { configureParallelPairs } from '../engine/candidate-workers.ts';
import { serve, type MessageChannelLike } from '../shared/engine-protocol.ts';
import { createEngineProcess } from './handlers.ts';

// In the built app the workers of the HEIC decoder and of the LSH pair search are files of their
// own next to this one (out/main/); from source (tests) each finds its worker by itself.
const builtHeicWorker = fileURLToPath(new URL('./decode-heic-worker.js', import.meta.url));
if (existsSync(builtHeicWorker)) await configureHeicDecoder({ workerFile: builtHeicWorker });
const builtCandidateWorker = fileURLToPath(new URL('./candidate-worker.js', import.meta.url));
if (existsSync(builtCandidateWorker)) configureParallelPairs({ workerFile: builtCandidateWorker });

/** The part of Electron's `process.parentPort` used here. */
interface ParentPortLike {
  postMessage(message: unknown): void;
  on(event: 'message', listener: (event: { data: unknown }) => void): unknown;
  off(event: 'message', listener: (event: { data: unknown }) => void): unknown;
}

function parentChannel(): MessageChannelLike {
  const parentPort = (process as unknown as { parentPort?: ParentPortLike }).parentPort;
  if (parentPort) {
    return {
      post: (message) => parentPort.postMessage(message),
      listen(listener) {
        const onMessage = (event: { data: unknown }) => listener(event.data);
        parentPort.on('message', onMessage);
        return () => parentPort.off('message', onMessage);
      },
    };
  }
  if (process.send) {
    return {
      post: (message) => process.send!(message),
      listen(listener) {
        process.on('message', listener);
        return () => process.off('message', listener);
      },
    };
  }
  throw new Error('the engine process needs a parent: start it with utilityProcess.fork or child_process.fork');
}

const channel = parentChannel();
// Events go out through the server, which exists only once the handlers do: hence the late binding.
let emit: (event: Parameters<ReturnType<typeof serve>['emit']>[0]) => void = () => undefined;
const state = createEngineProcess((event) => emit(event));
const server = serve(channel, state.handlers);
emit = (event) => server.emit(event);

async function exit(code: number): Promise<void> {
  server.stop();
  await state.shutdown().catch((error: unknown) => console.error('engine process: closing failed:', error));
  process.exit(code);
}

// Under child_process: the parent went away. (Electron ends a utility process with its parent.)
process.on('disconnect', () => void exit(0));
process.on('SIGTERM', () => void exit(0));
