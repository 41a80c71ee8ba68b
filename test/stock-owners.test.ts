import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { afterEach, beforeAll, describe, expect, inject, it } from 'vitest';
import { collections, type ShardSet } from '../src/db';
import { type LedgerEntry, type StockService } from '../src/stock';
import type { LeaseDoc } from '../src/stock/ownership';
import type { OwnerArgs, OwnerLine } from './fixtures/owner-process';
import { expectCleanLedger, productInput, uniqueId, useStockService } from './helpers';

const fixture = path.join(import.meta.dirname, 'fixtures', 'owner-process.ts');
const leaseMs = 1500;
const roundMs = 200;
const concurrency = 16;

type Progress = Extract<OwnerLine, { event: 'progress' }>;
type Done = Extract<OwnerLine, { event: 'done' }>;

/** One owner-process: its lines as they come, its last progress, and its final report. */
class Owner {
  readonly child: ChildProcess;
  readonly ready: Promise<void>;
  readonly done: Promise<Done>;
  last: Progress | undefined;
  private readonly watchers = new Set<() => void>();

  constructor(
    readonly writerId: string,
    args: OwnerArgs,
  ) {
    this.child = spawn(process.execPath, ['--import', 'tsx', fixture, JSON.stringify(args)], {
      stdio: ['pipe', 'pipe', 'inherit'],
    });
    const exited = new Promise<never>((_, reject) =>
      this.child.once('close', (code, signal) => reject(new Error(`${writerId} exited (${code ?? signal})`))),
    );
    exited.catch(() => undefined); // observed through ready and done
    let ready!: () => void;
    let done!: (line: Done) => void;
    this.ready = Promise.race([new Promise<void>((r) => (ready = r)), exited]);
    this.done = Promise.race([new Promise<Done>((r) => (done = r)), exited]);
    createInterface({ input: this.child.stdout! }).on('line', (text) => {
      const line = JSON.parse(text) as OwnerLine;
      if (line.event === 'ready') ready();
      if (line.event === 'done') done(line);
      if (line.event !== 'progress') return;
      this.last = line;
      for (const watch of this.watchers) watch();
    });
  }

  go() {
    this.child.stdin!.end('go\n');
  }

  /** Resolves at the first progress line that `test` accepts. */
  until(test: (p: Progress) => boolean): Promise<Progress> {
    return new Promise((resolve) => {
      const watch = () => {
        if (!this.last || !test(this.last)) return;
        this.watchers.delete(watch);
        resolve(this.last);
      };
      this.watchers.add(watch);
    });
  }
}

describe('bucket owners in several OS processes', () => {
  const ctx = useStockService();
  let shards: ShardSet;
  let stock: StockService;
  beforeAll(() => ({ shards, stock } = ctx));
  const started: Owner[] = [];
  // A failed test leaves no process of its own reserving behind.
  afterEach(() => {
    for (const o of started.splice(0)) if (o.child.exitCode === null && o.child.signalCode === null) o.child.kill();
  });

  /** Starts `n` owner processes and, once each owns a bucket, lets them all go at once. */
  async function startOwners(sku: string, n: number, options: Pick<OwnerArgs, 'soldOutMs'> & { ops?: string[][] }) {
    const owners = Array.from({ length: n }, (_, p) => {
      const writerId = `${sku}-w${p}`;
      return new Owner(writerId, {
        uris: inject('mongoUris'),
        stockDb: shards.stockDb(0).databaseName,
        cartsDb: shards.cartsDb(0).databaseName,
        sku,
        writerId,
        leaseMs,
        roundMs,
        concurrency,
        ops: options.ops?.[p],
        soldOutMs: options.soldOutMs,
      });
    });
    started.push(...owners);
    await Promise.all(owners.map((o) => o.ready));
    for (const o of owners) o.go();
    return owners;
  }

  async function allEntries(sku: string): Promise<LedgerEntry[]> {
    const buckets = stock.bucketsOf(await stock.product(sku));
    return (await Promise.all(buckets.map((b) => stock.ledger.entries(b)))).flat();
  }

  it('twins of one operation id across processes have one effect, with ownership and batching', async () => {
    const sku = uniqueId('owned-twins');
    await stock.createProduct(productInput(sku, { buckets: 8 }), 480);
    const shared = Array.from({ length: 40 }, (_, i) => `${sku}-shared-${i}`);
    // Each process's own ids with the shared ones among them at the same places, so twins run at about the same
    // time in all three.
    const ops = [0, 1, 2].map((p) =>
      Array.from({ length: 100 }, (_, i) => `${sku}-p${p}-${i}`).flatMap((id, i) =>
        i % 5 === 2 ? [id, shared[(i - 2) / 5]!, shared[(i - 2) / 5 + 20]!] : [id],
      ),
    );
    const owners = await startOwners(sku, 3, { ops, soldOutMs: 0 });
    const results = await Promise.all(owners.map((o) => o.done));

    for (const [p, r] of results.entries()) {
      expect(r.refused, owners[p]!.writerId).toBe(0);
      expect(r.holds).toHaveLength(140);
      expect(r.ownedSeen.length, `${owners[p]!.writerId} owned no bucket while reserving`).toBeGreaterThan(0);
    }
    const holds = results.flatMap((r) => r.holds);
    for (const opId of shared) {
      const seen = holds.filter((h) => h.holdId === opId);
      expect(seen).toHaveLength(3);
      expect(new Set(seen.map((h) => `${h.bucket}#${h.seq}`)).size, opId).toBe(1);
    }

    // Every id is listed by exactly one entry, the one its hold names.
    const distinct = new Set(holds.map((h) => h.holdId));
    expect(distinct.size).toBe(340);
    const listings = new Map<string, LedgerEntry[]>();
    const entries = await allEntries(sku);
    for (const e of entries)
      for (const m of e.members ?? []) listings.set(m.opId, [...(listings.get(m.opId) ?? []), e]);
    expect(listings.size).toBe(340);
    const buckets = stock.bucketsOf(await stock.product(sku));
    for (const h of holds) {
      expect(listings.get(h.holdId)!.map((e) => `${e.bucketId}#${e.seq}`)).toEqual([
        `${buckets[h.bucket]!.id}#${h.seq}`,
      ]);
    }
    expect(entries.some((e) => (e.members?.length ?? 0) > 1)).toBe(true);

    const report = await expectCleanLedger(stock, shards, sku);
    expect(report.totals).toMatchObject({ held: distinct.size, available: 480 - distinct.size });
    expect(report.openHolds).toBe(distinct.size);
    expect(report.unrecorded).toBe(0);
  });

  it('an owner process SIGKILLed mid-run loses and strands no unit', async () => {
    const sku = uniqueId('owner-kill');
    await stock.createProduct(productInput(sku, { buckets: 8 }), 600);
    // Sold out for twice a lease before stopping: by then the victim's leases have lapsed and been taken over.
    const owners = await startOwners(sku, 3, { soldOutMs: 2 * leaseMs });
    const [victim, ...survivors] = owners as [Owner, ...Owner[]];
    const before = await victim.until((p) => p.owned.length > 0 && p.taken >= 20);
    expect(before.taken).toBeLessThan(300); // still reserving: most of the stock is left
    victim.child.kill('SIGKILL');
    const killedAt = Date.now();
    await expect(victim.done).rejects.toThrow('SIGKILL');
    const results = await Promise.all(survivors.map((o) => o.done));

    const buckets = stock.bucketsOf(await stock.product(sku));
    const heads = await Promise.all(buckets.map((b) => stock.ledger.head(b, true)));
    expect(heads.map((h) => h!.balances.available)).toEqual(buckets.map(() => 0));
    expect(heads.reduce((n, h) => n + h!.balances.held, 0)).toBe(600);
    // What the survivors were told they hold, and what the victim took before it died, is all the stock.
    const victimHeld = (await allEntries(sku))
      .flatMap((e) => e.members ?? [])
      .filter((m) => m.opId.startsWith(`${victim.writerId}-`))
      .reduce((n, m) => n + m.qty, 0);
    expect(victimHeld).toBeGreaterThanOrEqual(before.taken);
    expect(results.reduce((n, r) => n + r.holds.length, 0) + victimHeld).toBe(600);

    // Some bucket the victim owned when it died passed straight from its lease to a survivor's, written after.
    const leases = (
      await Promise.all(
        Array.from({ length: shards.size }, (_, s) =>
          shards.stockDb(s).collection<LeaseDoc>(collections.stock.leases).find({ sku }).toArray(),
        ),
      )
    ).flat();
    const survivorIds = new Set(survivors.map((o) => o.writerId));
    const takenOver = before.owned.filter((i) => {
      const chain = leases.filter((l) => l.bucketId === buckets[i]!.id).sort((a, b) => a.epoch - b.epoch);
      const last = chain.findLastIndex((l) => l.owner === victim.writerId);
      const after = chain[last + 1];
      return (
        last >= 0 && after !== undefined && survivorIds.has(after.owner!) && after.until.getTime() - leaseMs >= killedAt
      );
    });
    expect(takenOver.length, JSON.stringify(leases)).toBeGreaterThan(0);

    // Single-unit reserves never gather stock into one bucket, so no transfer can be left half done by the
    // victim: nothing for repairTransfers to complete, and the ledger must be clean at rest as it is.
    expect(await stock.repairTransfers(sku)).toBe(0);
    const report = await expectCleanLedger(stock, shards, sku);
    expect(report.totals).toMatchObject({ available: 0, held: 600 });
    // The victim's claims in doubt (their batches never written) took nothing: at most one per reserve it had
    // in flight; the survivors, which finished, leave none.
    expect(report.unrecorded).toBeLessThanOrEqual(concurrency);
  });
});
