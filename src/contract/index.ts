export * from './failures';
export * from './line-answer';
export * from './messages';
export * from './search-attributes';
export * from './types';
export * from './workflow-ids';
export * from './stock-routing';
export * from './events';
// The HTTP contract's names (CartLine, Order...) are its wire shapes, not the workflows' types above.
export * as http from './http';
