export * from './api-error';
export * from './create-api-client';
export * from './schemas';
export type { components, operations, paths } from './openapi';
export * from './webhook-signature';
