// Keeps one engine process running for the main process: starts it on first use, opens the engine in
// it, forwards calls and events, and after a crash starts a new one on the next call (pending calls
// fail with the reason). How the process is spawned is injected (Electron's utilityProcess in the app,
// child_process in the tests), so this file does not import Electron.
import {
  createClient,
  remoteEngine,
  type Client,
  type EngineEvent,
  type EngineProcessOptions,
  type MessageChannelLike,
  type RemoteEngine,
} from '../shared/engine-protocol.ts';

export interface SpawnedProcess {
  channel: MessageChannelLike;
  onExit(listener: (code: number) => void): void;
  kill(): void;
}

export interface EngineSupervisorOptions {
  spawn(): SpawnedProcess;
  open: EngineProcessOptions;
  onEvent(event: EngineEvent): void;
  /** The process ended without being asked to (it is started again on the next call). */
  onCrash?(code: number): void;
}

interface Connection {
  client: Client;
  process: SpawnedProcess;
}

export class EngineSupervisor {
  /** The engine, as main uses it: every call goes to the engine process. */
  readonly engine: RemoteEngine;
  private current: Promise<Connection> | null = null;
  private stopping = false;

  constructor(private readonly options: EngineSupervisorOptions) {
    const call: Client['call'] = (method, args, callOptions) =>
      this.connection().then((connection) => connection.client.call(method, args, callOptions));
    this.engine = remoteEngine({ call });
  }

  /** Starts the process now rather than on the first call (errors surface here). */
  async start(): Promise<void> {
    await this.connection();
  }

  /** Asks the engine to close (saving the catalog), then ends the process. */
  async stop(timeoutMs = 10_000): Promise<void> {
    this.stopping = true;
    const connection = await this.current?.catch(() => null);
    if (!connection) return;
    let timer: NodeJS.Timeout | undefined;
    try {
      await Promise.race([
        connection.client.call('close', []),
        new Promise((_, reject) => (timer = setTimeout(() => reject(new Error('the engine did not close in time')), timeoutMs))),
      ]);
    } catch {
      // ended below either way
    } finally {
      clearTimeout(timer);
      connection.client.dispose('the engine was stopped');
      connection.process.kill();
    }
  }

  private connection(): Promise<Connection> {
    if (this.stopping) return Promise.reject(new Error('the engine is stopping'));
    this.current ??= this.launch();
    return this.current;
  }

  private launch(): Promise<Connection> {
    const process = this.options.spawn();
    const client = createClient(process.channel);
    client.onEvent((event) => this.options.onEvent(event));
    const launched = (async () => {
      try {
        await client.call('open', [this.options.open]);
      } catch (error) {
        process.kill();
        throw error;
      }
      return { client, process };
    })();
    process.onExit((code) => {
      client.dispose(`the engine process stopped (exit code ${code})`);
      if (this.current === launched) this.current = null;
      if (!this.stopping) this.options.onCrash?.(code);
    });
    // A launch that failed is forgotten, so the next call tries again.
    launched.catch(() => {
      if (this.current === launched) this.current = null;
    });
    return launched;
  }
}
