export * from './event-store';
export * from './signature';
export * from './webhook-deliveries';
export * from './webhook-endpoints';
