import { fork, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { BenchDatabaseNames } from './databases';
import type { Share, ShareResult } from './share';

/** A SKU one variant put on sale in the bench's process, for client processes to attach to. */
export interface CellOnSale {
  readonly variant: string;
  readonly sku: string;
  readonly units: number;
}

/** What the bench tells a client process (bench/lib/client-process.ts). */
export type ToClient =
  | {
      readonly type: 'connect';
      readonly uris: readonly string[];
      readonly names: BenchDatabaseNames;
      readonly maxPoolSize: number;
    }
  /** Attach to the SKU and warm up if the share says so, answer `warmed`; measure on `go`, answer `measured`. */
  | { readonly type: 'cell'; readonly cell: CellOnSale; readonly share: Share }
  | { readonly type: 'go' }
  /** The bench was interrupted: the cell's clients start no more attempts. */
  | { readonly type: 'abort' };

/** What a client process tells the bench. */
export type FromClient =
  | { readonly type: 'connected' }
  | { readonly type: 'warmed' }
  | { readonly type: 'measured'; readonly result: ShareResult }
  | { readonly type: 'progress'; readonly share: number; readonly done: number }
  | { readonly type: 'failed'; readonly message: string };

type Answer = Exclude<FromClient, { type: 'progress' | 'failed' }>;

const entry = path.join(import.meta.dirname, 'client-process.ts');
/** How long stop() waits for a process to exit after closing its channel, before SIGKILL. */
const graceMs = 5_000;

/**
 * Client processes of one bench run, started once and given one share of a cell each, so a cell's clients
 * have several pools, head caches and event loops, as several API processes would. None outlives the bench: a
 * client process exits when its IPC channel closes, which the OS does when the bench dies, however it dies.
 */
export class ClientProcesses {
  private constructor(private readonly clients: ClientProcess[]) {}

  get size(): number {
    return this.clients.length;
  }

  static async start(count: number, connect: Extract<ToClient, { type: 'connect' }>): Promise<ClientProcesses> {
    const pool = new ClientProcesses(Array.from({ length: count }, (_, i) => new ClientProcess(i)));
    try {
      await Promise.all(pool.clients.map((c) => c.ask(connect, 'connected')));
      return pool;
    } catch (err) {
      await pool.stop();
      throw err;
    }
  }

  /**
   * Runs share i in process i: every process warms up, then all start measuring together, so their windows are
   * the same; resolves to what each measured.
   */
  async run(
    cell: CellOnSale,
    shares: readonly Share[],
    signal: AbortSignal,
    onProgress?: (share: number, done: number) => void,
  ): Promise<ShareResult[]> {
    if (shares.length > this.clients.length) throw new Error(`${shares.length} shares for ${this.size} processes`);
    const clients = this.clients.slice(0, shares.length);
    const seen = shares.map(() => ({ share: 0, done: 0 }));
    clients.forEach((c, i) => {
      c.onProgress = (share, done) => {
        seen[i] = { share, done };
        onProgress?.(
          seen.reduce((n, s) => n + s.share, 0) / seen.length,
          seen.reduce((n, s) => n + s.done, 0),
        );
      };
    });
    const abort = () => clients.forEach((c) => c.tell({ type: 'abort' }));
    try {
      const warmed = Promise.all(clients.map((c, i) => c.ask({ type: 'cell', cell, share: shares[i]! }, 'warmed')));
      signal.addEventListener('abort', abort);
      if (signal.aborted) abort();
      await warmed;
      const measured = await Promise.all(clients.map((c) => c.ask({ type: 'go' }, 'measured')));
      return measured.map((m) => m.result);
    } finally {
      signal.removeEventListener('abort', abort);
      for (const c of clients) c.onProgress = undefined;
    }
  }

  async stop(): Promise<void> {
    await Promise.all(this.clients.map((c) => c.stop()));
  }
}

/** One client process and its channel: one question at a time, answered by a message of the expected type. */
class ClientProcess {
  onProgress: ((share: number, done: number) => void) | undefined;
  private readonly child: ChildProcess;
  private readonly exited: Promise<void>;
  private pending: { type: Answer['type']; resolve(m: Answer): void; reject(err: Error): void } | undefined;
  /** Why it can answer no more: it failed or exited. */
  private broken: Error | undefined;

  constructor(private readonly index: number) {
    // fork runs it with the bench's own execArgv (--import tsx). Detached: Ctrl-C in the terminal reaches only
    // the bench, which ends its cell and then stops its client processes.
    this.child = fork(entry, [], {
      detached: true,
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
      serialization: 'advanced',
    });
    this.exited = new Promise((resolve) => this.child.once('exit', () => resolve()));
    this.child.on('message', (m: FromClient) => {
      if (m.type === 'progress') return this.onProgress?.(m.share, m.done);
      if (m.type === 'failed') return this.fail(new Error(`client process ${index}: ${m.message}`));
      const pending = this.pending;
      this.pending = undefined;
      if (pending?.type === m.type) pending.resolve(m);
      else this.fail(new Error(`client process ${index} answered ${m.type}, not ${pending?.type ?? 'nothing'}`));
    });
    this.child.once('exit', (code, sig) => this.fail(new Error(`client process ${index} exited (${sig ?? code})`)));
    this.child.once('error', (err) => this.fail(err));
  }

  ask<T extends Answer['type']>(message: ToClient, answer: T): Promise<Extract<Answer, { type: T }>> {
    if (this.broken) return Promise.reject(this.broken);
    if (this.pending)
      return Promise.reject(new Error(`client process ${this.index} is busy with ${this.pending.type}`));
    return new Promise((resolve, reject) => {
      this.pending = { type: answer, resolve: resolve as (m: Answer) => void, reject };
      this.tell(message);
    });
  }

  tell(message: ToClient): void {
    if (this.child.connected) this.child.send(message);
  }

  /** Closes the channel (the process then exits by itself); SIGKILL if it has not exited after the grace time. */
  async stop(): Promise<void> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return;
    if (this.child.connected) this.child.disconnect();
    if (!(await Promise.race([this.exited.then(() => true), sleep(graceMs, false, { ref: false })]))) {
      this.child.kill('SIGKILL');
      await this.exited;
    }
  }

  private fail(err: Error): void {
    this.broken ??= err;
    const pending = this.pending;
    this.pending = undefined;
    pending?.reject(err);
  }
}
