export * from './gate';
export * from './waiting-room';
export * from './audit';
