export * from './params';
export * from './types';
export * from './registry';
export * from './runner';
export * from './train';
export { kdLoss } from './kd';
export * from './optim';
