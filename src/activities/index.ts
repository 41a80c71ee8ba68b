export * from './create-activities';
export * from './payment-gateway';
