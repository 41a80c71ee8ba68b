export * from './ferretdb';
export * from './paths';
export * from './process';
export * from './stack';
export * from './temporal';
