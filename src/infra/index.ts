export * from './ferretdb';
export * from './health';
export * from './paths';
export * from './ports';
export * from './process';
export * from './run-stack';
export * from './stack';
export * from './temporal';
