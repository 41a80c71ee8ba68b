/** Workflow ids, one place: meaningful in the Web UI, and the dedupe key of singleton workflows. */
export const workflowIds = {
  hold: (holdId: string) => `hold-${holdId}`,
  checkout: (orderId: string) => `checkout-${orderId}`,
  reorder: (sku: string) => `reorder-${sku}`,
  rebalance: (sku: string) => `rebalance-${sku}`,
  backorders: (sku: string) => `backorders-${sku}`,
};
