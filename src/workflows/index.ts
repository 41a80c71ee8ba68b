// The worker's one workflowsPath: every workflow type is exported from here.
export * from './backorder-queue';
export * from './checkout';
export * from './hold';
export * from './rebalance';
export * from './reorder';
export * from './webhook-delivery';
