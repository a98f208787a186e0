export * from './attacks';
export * from './detector';
