import { WorkflowFailedError, WorkflowNotFoundError } from '@temporalio/client';
import { describe, expect, it } from 'vitest';
import { keyDigest } from '../src/api/idempotency';
import { workflowIds } from '../src/contract/workflow-ids';
import { checkSystem } from '../src/ops/check-system';
import { uniqueId } from './helpers';
import { bearer, ops, productDefinition, useTestApi, type UsedTestApi } from './api-helpers';

interface Cart {
  readonly cartId: string;
  readonly token: string;
}

/** The requests of a shopper (or of the storefront's backend creating a customer's cart) against one test API. */
function shopping(api: UsedTestApi) {
  async function customerCart(customerId: string): Promise<Cart> {
    const res = await api.inject({ method: 'POST', url: '/v1/carts', headers: ops, payload: { customerId } });
    expect(res.statusCode, res.body).toBe(201);
    expect(res.json()).toMatchObject({ customerId });
    return res.json();
  }
  async function anonymousCart(): Promise<Cart> {
    const res = await api.inject({ method: 'POST', url: '/v1/carts' });
    expect(res.statusCode, res.body).toBe(201);
    return res.json();
  }
  const add = (cart: Cart, sku: string, quantity: number, key = uniqueId('key'), waitlist = false) =>
    api.inject({
      method: 'POST',
      url: `/v1/carts/${cart.cartId}/items`,
      headers: { ...bearer(cart.token), 'idempotency-key': key },
      payload: { sku, quantity, ...(waitlist ? { waitlist } : {}) },
    });
  const restock = (sku: string, quantity: number) =>
    api.inject({
      method: 'POST',
      url: `/v1/products/${sku}/restock`,
      headers: { ...ops, 'idempotency-key': uniqueId('restock') },
      payload: { quantity },
    });
  const change = (cart: Cart, holdId: string, quantity: number) =>
    api.inject({
      method: 'PATCH',
      url: `/v1/carts/${cart.cartId}/items/${holdId}`,
      headers: bearer(cart.token),
      payload: { quantity },
    });
  const remove = (cart: Cart, holdId: string) =>
    api.inject({ method: 'DELETE', url: `/v1/carts/${cart.cartId}/items/${holdId}`, headers: bearer(cart.token) });
  const lines = async (cart: Cart) =>
    (await api.inject({ method: 'GET', url: `/v1/carts/${cart.cartId}`, headers: bearer(cart.token) })).json()
      .lines as { holdId: string; quantity: number; status: string }[];
  async function checkout(cart: Cart) {
    const res = await api.inject({
      method: 'POST',
      url: `/v1/carts/${cart.cartId}/checkout`,
      headers: { ...bearer(cart.token), 'idempotency-key': uniqueId('pay') },
      payload: { paymentToken: 'tok_visa' },
    });
    expect(res.statusCode, res.body).toBe(202);
    // A failed order is read below like a completed one.
    await api.client.workflow
      .getHandle(workflowIds.checkout(cart.cartId))
      .result()
      .catch((err: unknown) => {
        if (!(err instanceof WorkflowFailedError)) throw err;
      });
    return (
      await api.inject({ method: 'GET', url: `/v1/orders/${res.json().orderId}`, headers: bearer(cart.token) })
    ).json();
  }
  /** The system check's violations that concern these carts or this SKU (other test files share the store). */
  async function violations(sku: string, carts: readonly Cart[]) {
    const report = await checkSystem(api.worker.stock, api.shards);
    return report.violations.filter((v) => v.includes(sku) || carts.some((c) => v.includes(c.cartId)));
  }
  return { customerCart, anonymousCart, add, restock, change, remove, lines, checkout, violations };
}

describe('per-customer limits (maxPerCustomer)', () => {
  const api = useTestApi();
  const shop = shopping(api);

  it('holds no more than the limit over a customer’s five carts adding at once; the rest are 409 limit_reached', async () => {
    const sku = await api.createProduct({ quantity: 40, buckets: 4, maxPerCustomer: 3 });
    const customer = uniqueId('cust');
    const carts = await Promise.all(Array.from({ length: 5 }, () => shop.customerCart(customer)));
    // Each cart adds one unit twice, all ten at once: three may be held, the customer's limit.
    const answers = await Promise.all([...carts, ...carts].map((cart) => shop.add(cart, sku, 1)));
    const held = answers.filter((a) => a.statusCode === 201);
    const refused = answers.filter((a) => a.statusCode === 409);
    expect(held).toHaveLength(3);
    expect(refused).toHaveLength(7);
    for (const r of refused) expect(r.json()).toMatchObject({ error: 'limit_reached', limit: 3 });
    expect(refused[0]!.json().message).toMatch(/3 per customer/);
    const pending = (await Promise.all(carts.map(shop.lines))).flat().filter((l) => l.status === 'pending');
    expect(pending.reduce((n, l) => n + l.quantity, 0)).toBe(3);
    // The five check out at once: the three held units are bought (the carts without a line fail), and bought
    // units keep counting.
    const orders = await Promise.all(carts.map(shop.checkout));
    const completed = orders.filter((o) => o.status === 'completed');
    expect(completed.reduce((n, o) => n + o.totalCents, 0)).toBe(3 * 1500);
    expect(orders.filter((o) => o.status === 'failed')).toHaveLength(5 - completed.length);
    expect((await shop.add(carts[0]!, sku, 1)).json()).toMatchObject({ error: 'limit_reached', limit: 3 });
    // Another customer is not counted with the first.
    expect((await shop.add(await shop.customerCart(uniqueId('cust')), sku, 3)).statusCode).toBe(201);
    expect((await api.inject({ method: 'GET', url: `/v1/products/${sku}` })).json()).toMatchObject({
      maxPerCustomer: 3,
    });
    expect(await shop.violations(sku, carts)).toEqual([]);
  });

  it('counts again what a removed line gave back, and keeps counting what was bought', async () => {
    const sku = await api.createProduct({ quantity: 20, maxPerCustomer: 2 });
    const customer = uniqueId('cust');
    const [a, b, c] = await Promise.all([1, 2, 3].map(() => shop.customerCart(customer)));
    const first = (await shop.add(a!, sku, 2)).json();
    expect((await shop.add(b!, sku, 1)).json()).toMatchObject({ error: 'limit_reached' });
    expect((await shop.remove(a!, first.holdId)).statusCode).toBe(200);
    expect((await shop.add(b!, sku, 2)).statusCode).toBe(201);
    // Bought: the two units still count, in this cart and in a new one.
    expect(await shop.checkout(b!)).toMatchObject({ status: 'completed', totalCents: 3000 });
    expect((await shop.add(c!, sku, 1)).json()).toMatchObject({ error: 'limit_reached', limit: 2 });
    expect((await shop.add(b!, sku, 1)).json()).toMatchObject({ error: 'limit_reached' });
    expect(await shop.violations(sku, [a!, b!, c!])).toEqual([]);
  });

  it('keeps a limit refusal under its Idempotency-Key, and leaves a sold-out limited SKU to the answer at once', async () => {
    const sku = await api.createProduct({ quantity: 3, buckets: 1, maxPerCustomer: 2 });
    const customer = uniqueId('cust');
    const [a, b] = await Promise.all([shop.customerCart(customer), shop.customerCart(customer)]);
    const line = (await shop.add(a!, sku, 2)).json();
    const refused = await shop.add(b!, sku, 1, 'over');
    expect(refused.statusCode).toBe(409);
    expect(refused.json()).toMatchObject({ error: 'limit_reached', limit: 2 });
    // Its line's run was the one to refuse (the SKU is not sold out), and the key keeps that answer even once
    // the customer has room again; another key holds.
    const lineRun = (cart: Cart, key: string) =>
      api.client.workflow.getHandle(workflowIds.hold(`${cart.cartId}.${keyDigest(cart.cartId, key)}`));
    expect((await lineRun(b!, 'over').describe()).status.name).toBe('COMPLETED');
    expect((await shop.remove(a!, line.holdId)).statusCode).toBe(200);
    const replayed = await shop.add(b!, sku, 1, 'over');
    expect(replayed.statusCode).toBe(409);
    expect(replayed.headers['idempotent-replayed']).toBe('true');
    expect(replayed.json()).toMatchObject({ error: 'limit_reached', limit: 2, holdId: refused.json().holdId });
    expect((await shop.add(b!, sku, 2)).statusCode).toBe(201);

    // Sold out (another customer took the last unit): refused at once, out_of_stock, whoever asks and whatever
    // their allowance, with no workflow; the customer's allowance is left as it was.
    expect((await shop.add(await shop.customerCart(uniqueId('cust')), sku, 1)).statusCode).toBe(201);
    const soldOut = await shop.add(a!, sku, 1, 'sold-out');
    expect(soldOut.statusCode).toBe(409);
    expect(soldOut.json()).toMatchObject({ error: 'out_of_stock', available: 0 });
    await expect(lineRun(a!, 'sold-out').describe()).rejects.toBeInstanceOf(WorkflowNotFoundError);
    const fresh = await shop.add(await shop.customerCart(uniqueId('cust')), sku, 1, 'sold-out-fresh');
    expect(fresh.json()).toMatchObject({ error: 'out_of_stock' });
    expect(await shop.violations(sku, [a!, b!])).toEqual([]);
  });

  it('counts an anonymous cart alone', async () => {
    const sku = await api.createProduct({ quantity: 20, maxPerCustomer: 2 });
    const [x, y] = await Promise.all([shop.anonymousCart(), shop.anonymousCart()]);
    expect((await shop.add(x!, sku, 2)).statusCode).toBe(201);
    expect((await shop.add(y!, sku, 2)).statusCode).toBe(201);
    expect((await shop.add(x!, sku, 1)).json()).toMatchObject({ error: 'limit_reached', limit: 2 });
    expect(await shop.violations(sku, [x!, y!])).toEqual([]);
  });

  it('refuses a quantity increase past the limit and changes nothing; a shrink gives units back', async () => {
    const sku = await api.createProduct({ quantity: 20, maxPerCustomer: 3 });
    const customer = uniqueId('cust');
    const [a, b] = await Promise.all([shop.customerCart(customer), shop.customerCart(customer)]);
    const line = (await shop.add(a!, sku, 2)).json();
    const refused = await shop.change(a!, line.holdId, 4);
    expect(refused.statusCode).toBe(409);
    expect(refused.json()).toMatchObject({ error: 'limit_reached', limit: 3, holdId: line.holdId });
    expect(await shop.lines(a!)).toMatchObject([{ holdId: line.holdId, quantity: 2, status: 'pending' }]);
    expect((await api.inject({ method: 'GET', url: `/v1/products/${sku}` })).json()).toMatchObject({ reserved: 2 });
    expect((await shop.change(a!, line.holdId, 3)).json()).toMatchObject({ status: 'held', quantity: 3 });
    expect((await shop.add(b!, sku, 1)).json()).toMatchObject({ error: 'limit_reached' });
    // 3 → 1 gives back a whole part and trims the first: the allowance follows, so the other cart may hold 2.
    expect((await shop.change(a!, line.holdId, 1)).json()).toMatchObject({ status: 'held', quantity: 1 });
    expect((await shop.add(b!, sku, 2)).statusCode).toBe(201);
    expect((await shop.add(b!, sku, 1)).json()).toMatchObject({ error: 'limit_reached' });
    expect(await shop.violations(sku, [a!, b!])).toEqual([]);
  });

  it('binds a cart to a customer only with the ops token, for good', async () => {
    const sku = await api.createProduct({ quantity: 20, maxPerCustomer: 1 });
    const customer = uniqueId('cust');
    const shopper = await shop.anonymousCart();
    const asShopper = await api.inject({
      method: 'POST',
      url: '/v1/carts',
      headers: bearer(shopper.token),
      payload: { customerId: customer },
    });
    expect(asShopper.statusCode).toBe(403);
    expect(asShopper.json()).toMatchObject({ error: 'forbidden' });
    const anonymous = await api.inject({ method: 'POST', url: '/v1/carts', payload: { customerId: customer } });
    expect(anonymous.statusCode).toBe(401);
    expect(anonymous.json()).not.toHaveProperty('cartId');

    const bound = await shop.customerCart(customer);
    expect((await shop.add(bound, sku, 1)).statusCode).toBe(201);
    // The customer is part of the signed token: another customer's name in it makes it no token of ours.
    const [payload, mac] = [bound.token.slice(0, bound.token.lastIndexOf('.')), bound.token.split('.').pop()];
    const forged = `${payload.slice(0, payload.indexOf('~'))}~${Buffer.from('someone-else').toString('base64url')}.${mac}`;
    expect((await shop.add({ ...bound, token: forged }, sku, 1)).statusCode).toBe(401);
    // Nor does the anonymous token of the same cart id exist for a shopper to fall back on.
    expect((await shop.add({ ...bound, token: `${bound.cartId}.${mac}` }, sku, 1)).statusCode).toBe(401);
    // A request cannot name a customer either: the body has no such field.
    const named = await api.inject({
      method: 'POST',
      url: `/v1/carts/${bound.cartId}/items`,
      headers: { ...bearer(bound.token), 'idempotency-key': uniqueId('key') },
      payload: { sku, quantity: 1, customerId: uniqueId('cust') },
    });
    expect(named.statusCode).toBe(400);
    expect((await shop.add(bound, sku, 1)).json()).toMatchObject({ error: 'limit_reached', limit: 1 });
  });

  it('heals a reservation that crashed between its allowance and its stock: counted once', async () => {
    const sku = await api.createProduct({ quantity: 20, maxPerCustomer: 3 });
    const customer = uniqueId('cust');
    const [a, b] = await Promise.all([shop.customerCart(customer), shop.customerCart(customer)]);
    const key = uniqueId('key');
    const holdId = `${a!.cartId}.${keyDigest(a!.cartId, key)}`;
    // What a run that died after its allowance write left: 2 of the customer's 3 reserved for this line's hold.
    const { allowances } = api.worker.stock;
    const bucket = allowances.bucketOf(sku, { cartId: a!.cartId, customerId: customer });
    expect(await allowances.reserve(bucket, 3, holdId, 2)).toEqual({ reserved: true });
    const added = await api.inject({
      method: 'POST',
      url: `/v1/carts/${a!.cartId}/items`,
      headers: { ...bearer(a!.token), 'idempotency-key': key },
      payload: { sku, quantity: 2 },
    });
    expect(added.json()).toMatchObject({ status: 'held', holdId, quantity: 2 });
    expect((await shop.add(b!, sku, 2)).json()).toMatchObject({ error: 'limit_reached' });
    expect((await shop.add(b!, sku, 1)).statusCode).toBe(201);
    expect(await shop.violations(sku, [a!, b!])).toEqual([]);
  });

  it('brings the allowance up to an earlier run’s trims and settle when a reservation runs again, once', async () => {
    const sku = await api.createProduct({ quantity: 20, buckets: 1, maxPerCustomer: 3 });
    const buyer = { cartId: uniqueId('cart'), customerId: uniqueId('cust') };
    const { allowances } = api.worker.stock;
    const stock = api.worker.stock;
    const bucket = allowances.bucketOf(sku, buyer);
    const allowance = async () => (await allowances.ledger.head(bucket, true))!;
    const rerun = (holdId: string) => stock.reserve(holdId, sku, 3, 'available', buyer);

    // A hold trimmed and released by runs that died between the stock's write and the allowance's: the
    // allowance still counts all 3 units. (A hold without its allowance field settles the stock only.)
    const released = uniqueId('hold');
    const first = await rerun(released);
    if (first.status !== 'taken') throw new Error(first.status);
    const { allowance: _mirror, ...stockOnly } = first.hold;
    const trimmed = await stock.trim(stockOnly, 2);
    await stock.settle(trimmed, 'release');
    expect((await allowance()).balances).toMatchObject({ available: 0, held: 3 });
    expect(await rerun(released)).toMatchObject({ status: 'settled', settled: 'released', hold: { qty: 2 } });
    const caughtUp = await allowance();
    expect(caughtUp.balances).toMatchObject({ available: 3, held: 0 });
    // Once caught up, a re-run writes nothing more.
    expect(await rerun(released)).toMatchObject({ status: 'settled' });
    expect((await allowance()).seq).toBe(caughtUp.seq);

    // A hold trimmed by a run that died before the allowance's trim, still open: it counts what it holds.
    const open = uniqueId('hold');
    const taken = await rerun(open);
    if (taken.status !== 'taken') throw new Error(taken.status);
    const { allowance: _open, ...openStockOnly } = taken.hold;
    await stock.trim(openStockOnly, 1);
    const again = await rerun(open);
    expect(again).toMatchObject({ status: 'taken', hold: { qty: 1, allowance: bucket.id } });
    expect((await allowance()).balances).toMatchObject({ available: 2, held: 1 });
    if (again.status !== 'taken') throw new Error(again.status);
    await stock.settle(again.hold, 'release');
    expect((await allowance()).balances).toMatchObject({ available: 3, held: 0 });
    expect(await shop.violations(sku, [])).toEqual([]);
  });

  it('keeps a product’s limit for good: the SKU created again with another limit is 409 product_exists', async () => {
    const sku = await api.createProduct({ maxPerCustomer: 2 });
    const again = await api.inject({
      method: 'POST',
      url: '/v1/products',
      headers: ops,
      payload: productDefinition(sku, { maxPerCustomer: 3 }),
    });
    expect(again.statusCode).toBe(409);
    expect(again.json()).toMatchObject({ error: 'product_exists' });
    expect((await api.inject({ method: 'GET', url: `/v1/products/${sku}` })).json()).toMatchObject({
      maxPerCustomer: 2,
    });
  });

  it('counts waitlist offers in the limit: a customer waiting in two carts is offered one unit, the next waiter the other', async () => {
    const sku = await api.createProduct({ quantity: 0, maxPerCustomer: 1, offerSeconds: 300 });
    const customer = uniqueId('cust');
    const a = await shop.customerCart(customer);
    const b = await shop.customerCart(customer);
    const other = await shop.anonymousCart();
    // Joining holds nothing, so both of the customer's carts may wait.
    for (const cart of [a, b, other]) {
      const joined = await shop.add(cart, sku, 1, uniqueId('key'), true);
      expect(joined.statusCode, joined.body).toBe(201);
      expect(joined.json()).toMatchObject({ status: 'waitlisted' });
    }
    expect((await shop.restock(sku, 2)).statusCode).toBe(202);
    const statusOf = async (cart: Cart) => (await shop.lines(cart))[0]!.status;
    const until = Date.now() + 20_000;
    while (Date.now() < until && (await Promise.all([a, b, other].map(statusOf))).includes('waitlisted')) {
      await new Promise((r) => setTimeout(r, 100));
    }
    // a is offered; b is passed over for the customer's limit (it leaves the waitlist); the unit goes on. Rule 10
    // of the check below finds a's offer, and what it bought, counted in the customer's allowance.
    expect(await Promise.all([a, b, other].map(statusOf))).toEqual(['pending', 'removed', 'pending']);
    expect(await shop.checkout(a)).toMatchObject({ status: 'completed' });
    expect((await api.inject({ method: 'GET', url: `/v1/products/${sku}` })).json()).toMatchObject({
      waitlisted: 0,
      sold: 1,
    });
    expect(await shop.violations(sku, [a, b, other])).toEqual([]);
  });

  it('refuses maxPerCustomer on a backorder product', async () => {
    const res = await api.inject({
      method: 'POST',
      url: '/v1/products',
      headers: ops,
      payload: { sku: uniqueId('sku'), name: 'x', priceCents: 1, quantity: 1, policy: 'backorder', maxPerCustomer: 1 },
    });
    expect(res.statusCode).toBe(400);
  });
});

describe('per-customer limits and expiry', () => {
  const api = useTestApi({ holdTtlSeconds: 2, maxHoldSeconds: 60 });
  const shop = shopping(api);

  it('counts again what an expired hold gave back', async () => {
    const sku = await api.createProduct({ quantity: 20, maxPerCustomer: 2 });
    const customer = uniqueId('cust');
    const [a, b] = await Promise.all([shop.customerCart(customer), shop.customerCart(customer)]);
    const first = (await shop.add(a!, sku, 2)).json();
    expect((await shop.add(b!, sku, 1)).json()).toMatchObject({ error: 'limit_reached' });
    await api.client.workflow.getHandle(workflowIds.hold(first.holdId)).result();
    expect(await shop.lines(a!)).toMatchObject([{ status: 'expired' }]);
    const again = await shop.add(b!, sku, 2);
    expect(again.statusCode).toBe(201);
    // Checked at rest: once that line has expired too, nothing of the customer's is held.
    await api.client.workflow.getHandle(workflowIds.hold(again.json().holdId)).result();
    expect(await shop.violations(sku, [a!, b!])).toEqual([]);
  });
});
