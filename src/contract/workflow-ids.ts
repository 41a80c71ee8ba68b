/** Workflow ids, one place: meaningful in the Web UI, and the dedupe key of singleton workflows. */
export const workflowIds = {
  hold: (holdId: string) => `hold-${holdId}`,
  /** One checkout of a cart runs at a time: the cart's checkout runs share this id, one after another. */
  checkout: (cartId: string) => `checkout-${cartId}`,
  reorder: (sku: string) => `reorder-${sku}`,
  rebalance: (sku: string) => `rebalance-${sku}`,
  backorders: (sku: string) => `backorders-${sku}`,
  /** One delivery workflow per webhook endpoint. */
  webhooks: (endpointId: string) => `webhooks-${endpointId}`,
};
