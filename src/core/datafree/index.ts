export * from './generator';
export * from './losses';
export * from './jitter';
export * from './teacher';
