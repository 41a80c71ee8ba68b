import { runLoad } from '../harness/load';
import { benchSku, throwOnErrors, type Shop } from './shop';

/**
 * Unmeasured: one add-to-cart per connection, each from a cart of its own, on a SKU of its own with a unit for
 * each, so that no measured request opens a connection or meets a cold API or worker. Fails on any error.
 */
export async function warmUp(shop: Shop, prefix: string, connections: number, signal: AbortSignal): Promise<void> {
  const sku = benchSku(`${prefix}-warm`);
  await shop.createProduct(sku, connections, 'strict');
  const carts = await runLoad({ total: connections, concurrency: connections, send: () => shop.createCart(), signal });
  throwOnErrors('warm-up carts', carts);
  const adds = await runLoad({
    total: connections,
    concurrency: connections,
    send: (i) => shop.addToCart(carts.results[i]!.result, sku, `warm-${i}`),
    signal,
  });
  throwOnErrors('add-to-cart warm-up', adds);
  const failure = adds.results.find((t) => t.result.error);
  if (failure) throw new Error(`add-to-cart warm-up: ${failure.result.error}`);
}
