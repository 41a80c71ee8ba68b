export * from './gate';
export * from './waiting-room';
