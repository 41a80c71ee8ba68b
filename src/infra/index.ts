export * from './ferretdb';
export * from './paths';
export * from './ports';
export * from './process';
export * from './stack';
export * from './temporal';
