export * from './gates';
export * from './flops';
export * from './decisions';
