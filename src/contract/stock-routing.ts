/** A product's say in where its units go (the product document's or ProductInfo's fields). */
export interface QueueRouted {
  readonly policy: 'strict' | 'backorder';
  readonly offerSeconds?: number;
}

/**
 * Whether a SKU's restocks and released units go through its queue workflow (`backorders-<sku>`), received
 * `incoming` so that the waiting get them first: a backorder SKU's, and a strict SKU's with a waitlist.
 */
export function routesThroughQueue(product: QueueRouted): boolean {
  return product.policy === 'backorder' || product.offerSeconds !== undefined;
}
