export * from './accuracy';
export * from './inputs';
export * from './latency';
export * from './estimation-error';
export * from './error-keys';
export * from './detect';
export * from './confusion';
