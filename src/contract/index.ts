export * from './failures';
export * from './line-answer';
export * from './messages';
export * from './search-attributes';
export * from './types';
export * from './workflow-ids';
