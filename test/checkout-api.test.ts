import { describe, expect, it } from 'vitest';
import { workflowIds } from '../src/contract/workflow-ids';
import { uniqueId } from './helpers';
import { bearer, ops, useTestApi } from './api-helpers';

describe('checkout over HTTP: one at a time per cart', () => {
  const api = useTestApi();
  const { inject } = api;

  async function cartWithLine() {
    const sku = uniqueId('sku');
    const created = await inject({
      method: 'POST',
      url: '/v1/products',
      headers: ops,
      payload: { sku, name: sku, priceCents: 900, quantity: 3, policy: 'strict', buckets: 2 },
    });
    expect(created.statusCode, created.body).toBe(201);
    const cart = (await inject({ method: 'POST', url: '/v1/carts' })).json() as { cartId: string; token: string };
    const added = await inject({
      method: 'POST',
      url: `/v1/carts/${cart.cartId}/items`,
      headers: { ...bearer(cart.token), 'idempotency-key': 'add-1' },
      payload: { sku, quantity: 2 },
    });
    expect(added.statusCode, added.body).toBe(201);
    return { sku, ...cart };
  }

  const checkout = (cart: { cartId: string; token: string }, key: string, paymentToken = 'tok_visa') =>
    inject({
      method: 'POST',
      url: `/v1/carts/${cart.cartId}/checkout`,
      headers: { ...bearer(cart.token), 'idempotency-key': key },
      payload: { paymentToken },
    });

  it('a second checkout of a cart while one runs is 409 checkout_in_progress, naming the running order', async () => {
    const cart = await cartWithLine();
    const first = await checkout(cart, 'tab-1', 'tok_timeout');
    expect(first.statusCode).toBe(202);
    const { orderId } = first.json() as { orderId: string };

    const second = await checkout(cart, 'tab-2');
    expect(second.statusCode, second.body).toBe(409);
    expect(second.json()).toMatchObject({ error: 'checkout_in_progress', orderId });
    // The first key again joins its own order.
    const retry = await checkout(cart, 'tab-1', 'tok_timeout');
    expect(retry.statusCode).toBe(202);
    expect(retry.json()).toEqual({ orderId });

    await api.client.workflow
      .getHandle(workflowIds.checkout(cart.cartId))
      .result()
      .catch(() => undefined);
    const failed = await inject({ method: 'GET', url: `/v1/orders/${orderId}`, headers: bearer(cart.token) });
    expect(failed.json()).toMatchObject({ status: 'failed' });

    // Once it has ended, the refused tab may check out: a new order buys the lines handed back.
    const again = await checkout(cart, 'tab-2');
    expect(again.statusCode, again.body).toBe(202);
    const next = (again.json() as { orderId: string }).orderId;
    expect(next).not.toBe(orderId);
    await api.client.workflow.getHandle(workflowIds.checkout(cart.cartId)).result();
    const done = await inject({ method: 'GET', url: `/v1/orders/${next}`, headers: bearer(cart.token) });
    expect(done.json()).toMatchObject({ status: 'completed', totalCents: 1800 });
    // The first key's order stays as it ended: retrying it neither reruns nor reopens it.
    const late = await checkout(cart, 'tab-1', 'tok_timeout');
    expect(late.json()).toEqual({ orderId });
    const report = (await inject({ method: 'GET', url: '/v1/ops/check', headers: ops })).json() as {
      violations: string[];
    };
    expect(report.violations).toEqual([]);
  }, 90_000);
});
