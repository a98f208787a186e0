export * from './layers-format';
export * from './load';
