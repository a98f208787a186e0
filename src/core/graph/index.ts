export * from './types';
export * from './ops';
export * from './forward';
export * from './shapes';
export * from './build';
export * from './transforms';
export * from './recalibrate';
export * from './preprocessing';
