/**
 * A client process of `npm run bench:stock` (started by ClientProcesses, never by hand): runs its share of
 * each cell it is given, against the SKU the bench put on sale, with connections and caches of its own. It
 * exits when its IPC channel closes, so it never outlives the bench.
 */
import { performance } from 'node:perf_hooks';
import type { FromClient, ToClient } from './client-processes';
import { attachBenchDatabases, type BenchDatabases } from './databases';
import { runShare } from './share';
import { isVariantName, variantFor } from './variants';

/** At most this often, progress goes to the bench. */
const progressEveryMs = 100;

let dbs: BenchDatabases | undefined;
let cell: { readonly abort: AbortController; go?: () => void } | undefined;

function send(message: FromClient): void {
  // A send that fails finds the bench gone: the disconnect handler exits, so the error needs no handling here
  // (without a callback it would be an unhandled 'error' event).
  if (process.connected) process.send!(message, undefined, {}, () => {});
}

async function handle(message: ToClient): Promise<void> {
  switch (message.type) {
    case 'connect':
      dbs = await attachBenchDatabases(message.uris, message.names, message.maxPoolSize);
      return send({ type: 'connected' });
    case 'cell': {
      if (!dbs) throw new Error('a cell before connect');
      const { variant, sku, units } = message.cell;
      if (!isVariantName(variant)) throw new Error(`unknown variant ${variant}`);
      const attempt = variantFor(variant, dbs).attach(sku, units);
      const current: NonNullable<typeof cell> = { abort: new AbortController() };
      cell = current;
      const go = new Promise<void>((resolve) => (current.go = resolve));
      let sentAt = -Infinity;
      const progress = (share: number, done: number) => {
        if (performance.now() - sentAt < progressEveryMs && share < 1) return;
        sentAt = performance.now();
        send({ type: 'progress', share, done });
      };
      try {
        const result = await runShare(attempt, message.share, current.abort.signal, progress, () => {
          send({ type: 'warmed' });
          return go;
        });
        return send({ type: 'measured', result });
      } finally {
        cell = undefined;
      }
    }
    case 'go':
      return cell?.go?.();
    case 'abort':
      return cell?.abort.abort();
  }
}

if (!process.send) {
  console.error('bench/lib/client-process.ts is started by npm run bench:stock, not by hand');
  process.exit(1);
}
process.on('message', (message: ToClient) => {
  handle(message).catch((err: unknown) =>
    send({ type: 'failed', message: err instanceof Error ? (err.stack ?? err.message) : String(err) }),
  );
});
process.once('disconnect', () => {
  // The bench is gone or done: close the connections if that is quick, and exit either way.
  setTimeout(() => process.exit(0), 2_000).unref();
  void (dbs?.close() ?? Promise.resolve()).finally(() => process.exit(0));
});
