import { describe, expect, it } from 'vitest';
import { gateRate, WaitingRoom, waitingRoomRecords, waitingRoomViolations } from '../src/admission';
import { CartLineStore } from '../src/carts';
import { connectTestShards, uniqueId } from './helpers';
import { bearer, useTestApi } from './api-helpers';

/**
 * A drop's waiting room: places in arrival order, a gate that lets them through at the product's rate, so the
 * earliest shoppers reach the stock first.
 */
describe('waiting room places and gate (real FerretDB)', () => {
  it('two processes give every arrival one place, without repeats or gaps, and let them in in order', async () => {
    const shards = await connectTestShards();
    try {
      let now = 1_000_000;
      const clock = () => now;
      const rooms = [new WaitingRoom(shards, clock), new WaitingRoom(shards, clock)];
      const sku = uniqueId('sku');
      const rate = gateRate(1); // one a second, a burst of one
      const lines = Array.from({ length: 40 }, (_, i) => `line-${i}`);
      const first = await Promise.all(lines.map((line, i) => rooms[i % 2]!.admit(sku, line, 'one', rate)));
      expect(first.map((a) => (a.status === 'conflict' ? -1 : a.place)).sort((a, b) => a - b)).toEqual(
        lines.map((_, i) => i),
      );
      expect(first.filter((a) => a.status === 'admitted')).toHaveLength(1);
      const waiting = first.flatMap((a) => (a.status === 'queued' ? [a.position] : []));
      expect(waiting.sort((a, b) => a - b)).toEqual(lines.slice(1).map((_, i) => i + 1));

      // The same line asks again, from either process: the same place.
      const again = await Promise.all(lines.map((line, i) => rooms[(i + 1) % 2]!.admit(sku, line, 'one', rate)));
      expect(again.map((a) => (a.status === 'conflict' ? -1 : a.place))).toEqual(
        first.map((a) => (a.status === 'conflict' ? -1 : a.place)),
      );

      // A second later and again, every line asking again from both processes at once: one more each time
      // (a burst of one: time nobody asked in is not saved up), always the next in line.
      for (let second = 1; second <= 4; second++) {
        now += 1000;
        const later = await Promise.all(lines.map((line, i) => rooms[(i + second) % 2]!.admit(sku, line, 'one', rate)));
        const inside = later.flatMap((a) => (a.status === 'admitted' ? [a.place] : []));
        expect(inside.sort((a, b) => a - b)).toEqual(lines.slice(0, second + 1).map((_, i) => i));
        for (const a of later) if (a.status === 'queued') expect(a.position).toBe(a.place - second);
      }
    } finally {
      await shards.close();
    }
  });
});

describe('add-to-cart through a waiting room (real Temporal and FerretDB)', () => {
  const api = useTestApi();
  const { inject } = api;

  async function createCart() {
    const res = await inject({ method: 'POST', url: '/v1/carts' });
    expect(res.statusCode).toBe(201);
    return res.json() as { cartId: string; token: string };
  }
  type Cart = Awaited<ReturnType<typeof createCart>>;
  const addItem = (cart: Cart, sku: string, key: string, quantity = 1) =>
    inject({
      method: 'POST',
      url: `/v1/carts/${cart.cartId}/items`,
      headers: { ...bearer(cart.token), 'idempotency-key': key },
      payload: { sku, quantity },
    });

  it('lets shoppers through in arrival order: the units go to the earliest, the rest wait and are told where', async () => {
    const sku = await api.createProduct({ quantity: 4, buckets: 2, admitPerSecond: 1 });
    const carts = await Promise.all(Array.from({ length: 6 }, createCart));
    // Arrivals one after another: the first is let in at once (the burst), the others wait their turn.
    const arrivals = [];
    for (const cart of carts) arrivals.push(await addItem(cart, sku, 'drop'));
    expect(arrivals[0]!.statusCode).toBe(201);
    expect(arrivals[0]!.json()).toMatchObject({ status: 'held' });
    const queued = arrivals.slice(1).map((res) => {
      expect(res.statusCode).toBe(202);
      expect(Number(res.headers['retry-after'])).toBeGreaterThanOrEqual(1);
      return res.json() as { status: string; position: number };
    });
    expect(queued.map((q) => q.position)).toEqual([1, 2, 3, 4, 5]);
    expect(queued.every((q) => q.status === 'queued')).toBe(true);

    // Everyone asks again every 50 ms (ignoring Retry-After, to be quick) until answered. The poll that is let
    // in is the moment of admission; positions only ever go down.
    const admittedAt = new Map<number, number>();
    const answers = await Promise.all(
      carts.slice(1).map(async (cart, i) => {
        let last = queued[i]!.position;
        for (;;) {
          const sent = performance.now();
          const res = await addItem(cart, sku, 'drop');
          if (res.statusCode !== 202) {
            admittedAt.set(i + 1, sent);
            return res;
          }
          const { position } = res.json() as { position: number };
          expect(position).toBeLessThanOrEqual(last);
          last = position;
          await new Promise((resolve) => setTimeout(resolve, 50));
        }
      }),
    );
    const statuses = answers.map((res) => res.statusCode);
    // Four units: the first four arrivals hold them; the last two are refused, and only them.
    expect(statuses).toEqual([201, 201, 201, 409, 409]);
    const heldOrder = [1, 2, 3].sort((a, b) => admittedAt.get(a)! - admittedAt.get(b)!);
    expect(heldOrder).toEqual([1, 2, 3]);
    for (const res of answers.slice(3)) expect(res.json()).toMatchObject({ error: 'out_of_stock' });
    // The system check's rule over the room: every line that reached the stock was let in, in its place.
    const lines = (await new CartLineStore(api.shards).all()).filter((l) => l.sku === sku).map((l) => l.holdId);
    expect(lines.length).toBeGreaterThanOrEqual(4);
    expect(waitingRoomViolations(await waitingRoomRecords(api.shards, sku), lines)).toEqual([]);
  }, 30_000);

  it('a line keeps its place: twin requests share it, and the answer after the wait is kept under the key', async () => {
    const sku = await api.createProduct({ quantity: 10, admitPerSecond: 1 });
    const [first, second] = [await createCart(), await createCart()];
    expect((await addItem(first, sku, 'k')).statusCode).toBe(201);
    const twins = await Promise.all([addItem(second, sku, 'k'), addItem(second, sku, 'k')]);
    expect(twins.map((r) => r.statusCode)).toEqual([202, 202]);
    expect(twins.map((r) => r.json().position)).toEqual([1, 1]);
    // Not an answer: nothing kept under the key yet; but the place is the request's, not the key's to reuse.
    expect(twins[0]!.headers['idempotent-replayed']).toBe('false');
    const otherBody = await addItem(second, sku, 'k', 2);
    expect(otherBody.statusCode).toBe(422);
    expect(otherBody.json()).toMatchObject({ error: 'idempotency_key_reused' });
    let res = twins[0]!;
    while (res.statusCode === 202) {
      await new Promise((resolve) => setTimeout(resolve, 100));
      res = await addItem(second, sku, 'k');
    }
    expect(res.statusCode).toBe(201);
    const replay = await addItem(second, sku, 'k');
    expect(replay.statusCode).toBe(201);
    expect(replay.headers['idempotent-replayed']).toBe('true');
    expect(replay.json().holdId).toBe(res.json().holdId);
    // Another body under the key is still refused as ever.
    expect((await addItem(second, sku, 'k', 2)).statusCode).toBe(422);
  }, 30_000);
});
