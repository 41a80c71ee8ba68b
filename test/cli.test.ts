import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import http from 'node:http';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Client, Connection } from '@temporalio/client';
import { afterEach, beforeAll, beforeEach, describe, expect, inject, it } from 'vitest';
import type { ProductView } from '../src/cli/api-client';
import { demoCatalogue } from '../src/cli/seed';
import { collections, ShardSet } from '../src/db';
import { freePorts } from '../src/infra';
import { bearer, opsToken, useTestApi } from './api-helpers';
import { uniqueId } from './helpers';

const bin = fileURLToPath(new URL('../bin/holdfast.js', import.meta.url));

interface Run {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

/**
 * Runs the CLI as ops would: its own process, with only the environment given here. NODE_ENV is `test` unless
 * given, so that no run reads or writes development secrets (the repository's own .holdfast least of all).
 */
function holdfast(args: readonly string[], env: Record<string, string> = {}): Promise<Run> {
  const fullEnv = { NODE_ENV: 'test', HOLDFAST_HOME: path.join(os.tmpdir(), 'holdfast-cli-unused'), ...env };
  return new Promise((resolve, reject) => {
    execFile(process.execPath, [bin, ...args], { env: fullEnv, timeout: 60_000 }, (err, stdout, stderr) => {
      if (err && typeof err.code !== 'number') reject(err);
      else resolve({ code: err ? (err.code as number) : 0, stdout, stderr });
    });
  });
}

describe('ops CLI (child processes against the real API, Temporal and FerretDB)', () => {
  const api = useTestApi();
  let url: string;
  beforeAll(async () => {
    url = await api.app.listen({ port: 0, host: '127.0.0.1' });
  });

  const ops = (...args: string[]) => holdfast([...args, '--api', url, '--token', opsToken]);
  const json = async (...args: string[]) => {
    const run = await ops(...args, '--json');
    expect(run.code, run.stderr).toBe(0);
    return JSON.parse(run.stdout);
  };

  async function createProduct(...options: string[]) {
    const sku = uniqueId('cli');
    const run = await ops(
      'product',
      'create',
      '--sku',
      sku,
      '--name',
      `Widget ${sku}`,
      '--price-cents',
      '1999',
      ...options,
    );
    expect(run.code, run.stderr).toBe(0);
    return sku;
  }

  async function addItem(sku: string) {
    const cart = (await api.app.inject({ method: 'POST', url: '/v1/carts' })).json();
    const res = await api.app.inject({
      method: 'POST',
      url: `/v1/carts/${cart.cartId}/items`,
      headers: { ...bearer(cart.token), 'idempotency-key': uniqueId('key') },
      payload: { sku, quantity: 1 },
    });
    expect(res.statusCode, res.body).toBe(201);
    return res.json() as { holdId: string; status: string };
  }

  it('creates, lists, shows, restocks, moves and verifies a product', async () => {
    const sku = uniqueId('cli');
    const created = await json(
      ...['product', 'create', '--sku', sku, '--name', 'Lamp', '--price-cents', '1999', '--quantity', '5'],
      ...['--policy', 'strict', '--buckets', '2', '--low-stock', '1', '--reorder', '4'],
    );
    expect(created).toMatchObject({
      sku,
      name: 'Lamp',
      priceCents: 1999,
      available: 5,
      buckets: 2,
      reorderQuantity: 4,
    });

    const list = await ops('product', 'list');
    expect(list.code).toBe(0);
    expect(list.stdout).toMatch(/^sku\s+name\s+price\s+policy\s+available/);
    expect(list.stdout).toMatch(new RegExp(`^${sku}\\s+Lamp\\s+19\\.99\\s+strict\\s+5\\s`, 'm'));
    expect((await json('product', 'list')).map((p: { sku: string }) => p.sku)).toContain(sku);

    const restock = await ops('restock', sku, '3');
    expect(restock.code, restock.stderr).toBe(0);
    expect(restock.stdout).toContain(`restocked ${sku}: +3`);
    const move = await ops('move', sku, '1', 'available', 'damaged');
    expect(move.code, move.stderr).toBe(0);
    expect(move.stdout).toContain(`moved 1 of ${sku} from available to damaged`);
    // The API's stock summary may be a second stale.
    await expect.poll(async () => (await json('product', 'show', sku)).available).toBe(7);
    const show = await ops('product', 'show', sku);
    expect(show.stdout).toMatch(/^available\s+7$/m);
    expect(show.stdout).toMatch(/^non-sellable\s+returned 0, repair 0, damaged 1$/m);

    const verify = await ops('verify', sku);
    expect(verify.code, verify.stderr).toBe(0);
    expect(verify.stdout).toMatch(new RegExp(`^ok\\s+${sku}\\s`, 'm'));
    expect(verify.stdout).toContain('1 checked, 0 with violations');
    expect(await json('verify', sku)).toEqual([expect.objectContaining({ sku, ok: true, violations: [] })]);
    const all = await ops('verify');
    expect(all.code, all.stderr).toBe(0);
    expect(all.stdout).toMatch(new RegExp(`^ok\\s+${sku}\\s`, 'm'));
  });

  /** The key a write printed (on stderr, after its result or error). */
  function keyOf(run: Run): string {
    const key = /^idempotency key: (\S+)/m.exec(run.stderr)?.[1];
    expect(key, run.stderr).toBeDefined();
    return key!;
  }

  it('sends every write with an Idempotency-Key, prints it, and a retry with it repeats nothing', async () => {
    const sku = await createProduct('--quantity', '4', '--policy', 'strict', '--buckets', '2');
    const first = await ops('restock', sku, '3');
    expect(first.code, first.stderr).toBe(0);
    const key = keyOf(first);
    const retried = await ops('restock', sku, '3', '--idempotency-key', key);
    expect(retried.code, retried.stderr).toBe(0);
    expect(retried.stdout).toBe(first.stdout);
    expect(keyOf(retried)).toBe(key);
    const reused = await ops('restock', sku, '5', '--idempotency-key', key);
    expect(reused.code).toBe(1);
    expect(reused.stderr).toMatch(/^error: idempotency_key_reused: /);
    expect(keyOf(reused)).toBe(key);

    const moveKey = uniqueId('move');
    for (let i = 0; i < 2; i++) {
      const moved = await ops('move', sku, '2', 'available', 'repair', '--idempotency-key', moveKey);
      expect(moved.code, moved.stderr).toBe(0);
    }
    // A new key is a new write.
    const another = await ops('restock', sku, '3');
    expect(keyOf(another)).not.toBe(key);
    await expect
      .poll(async () => (await json('product', 'show', sku)) as { available: number; nonSellable: object })
      .toMatchObject({ available: 8, nonSellable: { repair: 2 } });

    // Reads send no key and print none; a read does not take one.
    const show = await ops('product', 'show', sku);
    expect(show.stderr).toBe('');
    const usage = await ops('product', 'show', sku, '--idempotency-key', 'k');
    expect(usage.code).toBe(2);
    expect(usage.stderr).toContain('product show does not take --idempotency-key');
    const empty = await ops('restock', sku, '1', '--idempotency-key', '');
    expect(empty.code).toBe(2);
    expect(empty.stderr).toContain('--idempotency-key must be 1 to 255 characters');
  });

  it('check: prints the system check, and exits 1 with its violations', async () => {
    const clean = await ops('check');
    expect(clean.code, clean.stdout + clean.stderr).toBe(0);
    expect(clean.stdout).toMatch(/^no violations/m);
    expect(clean.stdout).toMatch(/^checked \d+ SKUs, \d+ cart lines, \d+ orders, \d+ charges, \d+ refunds$/m);
    expect(await json('check')).toMatchObject({ ok: true, violations: [] });

    // A charge the provider took for no order at all.
    const ghost = uniqueId('ghost');
    await api.shards
      .cartsDb(0)
      .collection(collections.carts.gateway)
      .insertOne({
        _id: `charge:${ghost}` as never,
        kind: 'charge',
        chargeId: `ch_${ghost}`,
        amountCents: 1,
        at: new Date(),
      });
    const failed = await ops('check');
    expect(failed.code).toBe(1);
    expect(failed.stdout).toContain(`FAIL  charge ch_${ghost}: no such order`);
    const fails = failed.stdout.split('\n').filter((line) => line.startsWith('FAIL  ')).length;
    expect(failed.stdout).toMatch(new RegExp(`^${fails} violations?$`, 'm'));
    const report = await ops('check', '--json');
    expect(report.code).toBe(1);
    expect(JSON.parse(report.stdout)).toMatchObject({
      ok: false,
      violations: expect.arrayContaining([`charge ch_${ghost}: no such order`]),
    });
    await api.shards
      .cartsDb(0)
      .collection(collections.carts.gateway)
      .deleteOne({ _id: `charge:${ghost}` as never });
  });

  it('takes the API address and the token from the configuration when no option gives them', async () => {
    const sku = await createProduct('--quantity', '1', '--policy', 'strict');
    const port = new URL(url).port;
    const restocked = await holdfast(['restock', sku, '2'], { API_PORT: port, HOLDFAST_OPS_TOKEN: opsToken });
    expect(restocked.code, restocked.stderr).toBe(0);

    const anonymous = await holdfast(['restock', sku, '2'], { API_PORT: port });
    expect(anonymous.code).toBe(1);
    expect(anonymous.stderr).toMatch(/^error: unauthorized: /);
    const wrong = await holdfast(['restock', sku, '2', '--api', url], { HOLDFAST_OPS_TOKEN: 'not-the-token' });
    expect(wrong.code).toBe(1);
    expect(wrong.stderr).toMatch(/^error: forbidden: /);
    // Reading the catalog needs no token.
    expect((await holdfast(['product', 'show', sku], { API_PORT: port })).code).toBe(0);
  });

  it('in development, sends the ops token npm start keeps in HOLDFAST_HOME/secrets.json, to a local API only', async () => {
    const sku = await createProduct('--quantity', '1', '--policy', 'strict');
    const home = await mkdtemp(path.join(os.tmpdir(), 'holdfast-cli-'));
    const seen: (string | undefined)[] = [];
    const elsewhere = http.createServer((req, res) => {
      seen.push(req.headers.authorization);
      res.writeHead(401, { 'content-type': 'application/json' }).end('{"error":"unauthorized","message":"no"}');
    });
    try {
      await writeFile(path.join(home, 'secrets.json'), JSON.stringify({ opsToken, tokenSecret: 'unused' }));
      const dev = { NODE_ENV: 'development', HOLDFAST_HOME: home };
      const port = new URL(url).port;
      const kept = await holdfast(['restock', sku, '2'], { ...dev, API_PORT: port });
      expect(kept.code, kept.stderr).toBe(0);
      const byName = await holdfast(['restock', sku, '2', '--api', `http://localhost:${port}`], dev);
      expect(byName.code, byName.stderr).toBe(0);

      // Any other host, even another loopback address, gets no kept token.
      await new Promise<void>((resolve) => elsewhere.listen(0, '127.0.0.2', resolve));
      const other = `http://127.0.0.2:${(elsewhere.address() as net.AddressInfo).port}`;
      const sent = await holdfast(['restock', sku, '2', '--api', other], dev);
      expect(sent.stderr).toMatch(/^error: unauthorized: /);
      expect(seen).toEqual([undefined]);
    } finally {
      elsewhere.close();
      await rm(home, { recursive: true, force: true });
    }
  });

  it('seed: creates the demo catalogue; running it again changes nothing', async () => {
    const demo = new Set(demoCatalogue.map((p) => p.sku));
    const bySku = (a: { sku: string }, b: { sku: string }) => a.sku.localeCompare(b.sku);
    const catalogue = async () =>
      ((await json('product', 'list')) as ProductView[]).filter((p) => demo.has(p.sku)).sort(bySku);

    const first = await ops('seed');
    expect(first.code, first.stderr).toBe(0);
    for (const p of demoCatalogue) expect(first.stdout).toMatch(new RegExp(`^created\\s+${p.sku}\\s`, 'm'));
    expect(first.stderr).toBe(''); // creating a product is idempotent by SKU: no key to print
    expect(demoCatalogue.filter((p) => p.policy === 'backorder')).toHaveLength(1);
    // The API's stock summary may be a second stale.
    await expect
      .poll(catalogue)
      .toEqual(
        [...demoCatalogue]
          .sort(bySku)
          .map(({ sku, name, priceCents, policy, quantity }) =>
            expect.objectContaining({ sku, name, priceCents, policy, available: quantity, sold: 0 }),
          ),
      );
    const before = await catalogue();

    const again = await json('seed');
    expect(again.map((r: { seeded: string }) => r.seeded)).toEqual(demoCatalogue.map(() => 'exists'));
    expect(await catalogue()).toEqual(before);
  });

  it('exits 1 with the API error code for an unknown SKU or reorder', async () => {
    for (const args of [
      ['product', 'show', 'no-such-sku'],
      ['restock', 'no-such-sku', '1'],
      ['verify', 'no-such-sku'],
    ]) {
      const run = await ops(...args);
      expect(run.code, args.join(' ')).toBe(1);
      expect(run.stderr).toMatch(/^error: unknown_product: .*no-such-sku/);
      expect(run.stdout).toBe('');
    }
    const reorder = await ops('reorders', 'reject', 'no-such-sku', '--reason', 'nope');
    expect(reorder.code).toBe(1);
    expect(reorder.stderr).toMatch(/^error: unknown_reorder: /);
    const down = await holdfast(['product', 'list', '--api', 'http://127.0.0.1:9']);
    expect(down.code).toBe(1);
    expect(down.stderr).toMatch(/^error: unreachable: /);
  });

  it('exits 2 with the usage on bad usage, before calling the API', async () => {
    const cases: [string[], string][] = [
      [['restock', 'some-sku'], 'usage: holdfast restock SKU QUANTITY'],
      [['restock', 'some-sku', 'many'], 'QUANTITY must be a whole number'],
      [['move', 'some-sku', '1', 'available', 'lost'], 'TO must be one of available, returned, repair, damaged'],
      [['product', 'create', '--sku', 'x'], '--name is required'],
      [
        [
          'product',
          'create',
          '--sku',
          'x',
          '--name',
          'y',
          '--price-cents',
          '1',
          '--quantity',
          '1',
          '--policy',
          'maybe',
        ],
        '--policy must be one of strict, backorder',
      ],
      [['product', 'list', '--reason', 'x'], 'product list does not take --reason'],
      [['product', 'list', 'extra'], 'unexpected argument "extra"'],
      [['product'], 'product needs one of: create, list, show'],
      [['frobnicate'], 'unknown command "frobnicate"'],
      [['verify', '--bogus'], "Unknown option '--bogus'"],
      [[], 'commands:'],
    ];
    for (const [args, message] of cases) {
      const run = await holdfast([...args, '--api', 'http://127.0.0.1:9']);
      expect(run.code, args.join(' ')).toBe(2);
      expect(run.stderr).toContain(message);
      expect(run.stderr).toContain('usage: holdfast');
    }
    const help = await holdfast(['help']);
    expect(help.code).toBe(0);
    expect(help.stdout).toContain('backorders move SKU HOLD_ID POSITION');
  });

  it('lists, reorders and cancels backorders', async () => {
    const sku = await createProduct('--quantity', '0', '--policy', 'backorder');
    const a = await addItem(sku);
    const b = await addItem(sku);
    expect([a.status, b.status]).toEqual(['backordered', 'backordered']);
    const waiting = async () =>
      (await json('backorders', 'list', sku)).waiting.map((e: { holdId: string }) => e.holdId);
    await expect.poll(waiting).toEqual([a.holdId, b.holdId]);

    const moved = await ops('backorders', 'move', sku, b.holdId, '0');
    expect(moved.code, moved.stderr).toBe(0);
    await expect.poll(waiting).toEqual([b.holdId, a.holdId]);
    const table = await ops('backorders', 'list', sku);
    expect(table.stdout).toMatch(new RegExp(`^\\s*0\\s+${b.holdId}\\s+1\\s`, 'm'));
    expect(table.stdout).toContain('filled so far: 0');

    const cancelled = await ops('backorders', 'cancel', sku, a.holdId);
    expect(cancelled.code, cancelled.stderr).toBe(0);
    expect(cancelled.stdout).toContain(`${a.holdId}: removed`);
    await expect.poll(waiting).toEqual([b.holdId]);
  });

  it('lists, approves and receives a reorder', async () => {
    const sku = await createProduct('--quantity', '3', '--policy', 'strict', '--low-stock', '3', '--reorder', '10');
    await addItem(sku);
    await expect
      .poll(async () => (await json('reorders', 'list')).find((r: { sku: string }) => r.sku === sku)?.status, {
        timeout: 20_000,
      })
      .toBe('awaiting_approval');
    const list = await ops('reorders', 'list');
    expect(list.stdout).toMatch(new RegExp(`^${sku}\\s+awaiting_approval\\s+10\\s`, 'm'));

    expect(await json('reorders', 'approve', sku, '--quantity', '12')).toMatchObject({
      status: 'approved',
      quantity: 12,
    });
    const received = await ops('reorders', 'receive', sku);
    expect(received.code, received.stderr).toBe(0);
    await expect.poll(async () => (await json('product', 'show', sku)).available, { timeout: 20_000 }).toBe(14);
  });

  it('adds, lists and removes a webhook endpoint, and refuses an unknown event type before calling the API', async () => {
    const bad = await ops('webhooks', 'add', 'http://127.0.0.1:9/hook', '--events', 'order.shipped');
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/--events must be one of/);
    const added = await json('webhooks', 'add', 'http://127.0.0.1:9/hook', '--events', 'order.completed,hold.expired');
    expect(added).toMatchObject({ url: 'http://127.0.0.1:9/hook', events: ['order.completed', 'hold.expired'] });
    expect(added.secret).toMatch(/^whsec_/);
    const list = await ops('webhooks', 'list');
    expect(list.stdout).toMatch(
      new RegExp(`^${added.id}\\s+http://127\\.0\\.0\\.1:9/hook\\s+order\\.completed,hold\\.expired`, 'm'),
    );
    expect(list.stdout).not.toContain(added.secret);
    expect((await ops('webhooks', 'deliveries', added.id)).stdout).toMatch(/no deliveries yet/);
    expect((await ops('webhooks', 'remove', added.id)).code).toBe(0);
    const gone = await ops('webhooks', 'remove', added.id);
    expect(gone.code).toBe(1);
    expect(gone.stderr).toMatch(/unknown_webhook/);
  });
});

describe('seed with a product of another definition under a demo SKU', () => {
  const api = useTestApi();
  let url: string;
  beforeAll(async () => {
    url = await api.app.listen({ port: 0, host: '127.0.0.1' });
  });

  it('leaves it as it is, creates the others, and exits 1 naming it', async () => {
    const [taken, ...others] = demoCatalogue;
    const ops = (...args: string[]) => holdfast([...args, '--api', url, '--token', opsToken]);
    const created = await ops(
      ...['product', 'create', '--sku', taken!.sku, '--name', 'Not the demo', '--price-cents', '1'],
      ...['--quantity', '7', '--policy', 'strict'],
    );
    expect(created.code, created.stderr).toBe(0);

    const run = await ops('seed');
    expect(run.code).toBe(1);
    expect(run.stdout).toMatch(new RegExp(`^conflict\\s+${taken!.sku}\\s+Not the demo\\s`, 'm'));
    expect(run.stdout).toContain(`${taken!.sku}: another product with this SKU exists; it was left as it is`);
    for (const p of others) expect(run.stdout).toMatch(new RegExp(`^created\\s+${p.sku}\\s`, 'm'));
    const product = JSON.parse((await ops('product', 'show', taken!.sku, '--json')).stdout);
    expect(product).toMatchObject({ name: 'Not the demo', priceCents: 1, available: 7 });
  });
});

describe('reset', () => {
  let home: string;
  let env: Record<string, string>;
  beforeEach(async () => {
    home = await mkdtemp(path.join(os.tmpdir(), 'holdfast-reset-'));
    const [temporal, ui, ferret] = await freePorts(3);
    env = {
      NODE_ENV: 'development',
      HOLDFAST_HOME: home,
      TEMPORAL_PORT: String(temporal),
      TEMPORAL_UI_PORT: String(ui),
      FERRETDB_BASE_PORT: String(ferret),
      FERRETDB_SHARDS: '1',
    };
    // What a stopped `npm start` leaves: the servers' data, their logs, the kept secrets.
    await mkdir(path.join(home, 'data', 'ferretdb', 'shard-0'), { recursive: true });
    await writeFile(path.join(home, 'data', 'ferretdb', 'shard-0', 'holdfast_stock.sqlite'), '');
    await writeFile(path.join(home, 'data', 'temporal.db'), '');
    await writeFile(path.join(home, 'data', 'temporal.db-wal'), '');
    await mkdir(path.join(home, 'logs'));
    await writeFile(path.join(home, 'logs', 'temporal.log'), '');
    await writeFile(path.join(home, 'secrets.json'), JSON.stringify({ opsToken: 'o', tokenSecret: 's' }));
  });
  afterEach(async () => {
    await rm(home, { recursive: true, force: true });
  });

  const untouched = () =>
    ['data/ferretdb/shard-0/holdfast_stock.sqlite', 'data/temporal.db'].every((f) => existsSync(path.join(home, f)));

  it('deletes the stopped local stack’s databases and runs with --yes; logs and secrets stay', async () => {
    const run = await holdfast(['reset', '--yes'], env);
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).toContain(`deleted ${path.join(home, 'data', 'ferretdb')}`);
    expect(run.stdout).toContain(`deleted ${path.join(home, 'data', 'temporal.db')}`);
    for (const gone of ['data/ferretdb', 'data/temporal.db', 'data/temporal.db-wal']) {
      expect(existsSync(path.join(home, gone)), gone).toBe(false);
    }
    for (const kept of ['logs/temporal.log', 'secrets.json'])
      expect(existsSync(path.join(home, kept)), kept).toBe(true);
  });

  it('asks first: without --yes and without a terminal it changes nothing', async () => {
    const run = await holdfast(['reset'], env);
    expect(run.code).toBe(2);
    expect(run.stderr).toContain('reset deletes data: confirm with --yes, or run it in a terminal to be asked');
    expect(untouched()).toBe(true);
  });

  it('refuses while the local stack runs, naming the port and its holder', async () => {
    const server = net.createServer();
    await new Promise<void>((resolve) => server.listen(Number(env.TEMPORAL_PORT), '127.0.0.1', resolve));
    try {
      const run = await holdfast(['reset', '--yes'], env);
      expect(run.code).toBe(1);
      expect(run.stderr).toMatch(/^error: stack_running: the local stack is running: stop it/);
      expect(run.stderr).toContain(`port ${env.TEMPORAL_PORT} (Temporal dev server): pid ${process.pid} `);
      expect(untouched()).toBe(true);
    } finally {
      server.close();
    }
  });

  it('refuses servers it did not start (MONGODB_URI, TEMPORAL_ADDRESS) unless forced', async () => {
    for (const [name, value] of [
      ['MONGODB_URI', 'mongodb://127.0.0.1:9/'],
      ['TEMPORAL_ADDRESS', '127.0.0.1:9'],
    ]) {
      const run = await holdfast(['reset', '--yes'], { ...env, [name!]: value! });
      expect(run.code, name).toBe(1);
      expect(run.stderr).toContain(`error: refused: ${name} points at servers holdfast did not start`);
      expect(run.stderr).toContain('--force');
    }
    expect(untouched()).toBe(true);
  });

  it('--force: terminates the running workflows of its task queue and drops its databases there', async () => {
    const suffix = uniqueId('r').replace('-', '');
    const [stockDb, cartsDb] = [`t_stock_${suffix}`, `t_carts_${suffix}`];
    const taskQueue = uniqueId('reset');
    const shards = await ShardSet.connect({ uris: inject('mongoUris'), stockDb, cartsDb });
    const connection = await Connection.connect({ address: inject('temporalAddress') });
    const client = new Client({ connection });
    try {
      for (let shard = 0; shard < shards.size; shard++) {
        await shards.stockDb(shard).collection('products').insertOne({ shard });
        await shards.cartsDb(shard).collection('carts').insertOne({ shard });
      }
      // No worker polls these queues: the runs stay running until someone ends them.
      const start = (queue: string) =>
        client.workflow.start('holdWorkflow', { taskQueue: queue, workflowId: uniqueId('run'), args: [] });
      const ours = await Promise.all([start(taskQueue), start(taskQueue)]);
      const another = await start(uniqueId('other'));
      const query = `TaskQueue = '${taskQueue}' AND ExecutionStatus = 'Running'`;
      await expect.poll(async () => (await client.workflow.count(query)).count, { timeout: 10_000 }).toBe(2);

      const run = await holdfast(['reset', '--yes', '--force'], {
        ...env,
        MONGODB_URI: inject('mongoUris').join(','),
        TEMPORAL_ADDRESS: inject('temporalAddress'),
        TEMPORAL_TASK_QUEUE: taskQueue,
        STOCK_DB: stockDb,
        CARTS_DB: cartsDb,
      });
      expect(run.code, run.stderr).toBe(0);
      expect(run.stdout).toContain('terminated 2 running workflows');
      expect(run.stdout).toContain(`dropped ${stockDb} and ${cartsDb} on ${shards.size} shards`);
      expect(run.stdout).toContain("restart holdfast's API and workers");
      for (const handle of ours) expect((await handle.describe()).status.name).toBe('TERMINATED');
      expect((await another.describe()).status.name).toBe('RUNNING');
      await another.terminate('test over');
      for (let shard = 0; shard < shards.size; shard++) {
        const { databases } = await shards.stockDb(shard).admin().listDatabases({ nameOnly: true });
        expect(databases.map((d) => d.name)).not.toContain(stockDb);
        expect(databases.map((d) => d.name)).not.toContain(cartsDb);
      }
      // The embedded stack's files are not what --force with external servers empties.
      expect(untouched()).toBe(true);
    } finally {
      await connection.close();
      await shards.close();
    }
  });
});
