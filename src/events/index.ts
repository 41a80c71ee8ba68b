export * from './event-store';
export * from './signature';
export * from './webhook-deliveries';
export * from './webhook-endpoints';
export * from './sold-out-episodes';
