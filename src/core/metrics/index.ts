export * from './accuracy';
export * from './inputs';
