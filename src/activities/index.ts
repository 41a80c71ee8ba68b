export * from './create-activities';
export * from './deps';
export * from './hold-activities';
export * from './payment-gateway';
