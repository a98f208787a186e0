export * from './generator';
export * from './losses';
