export * from './attacks';
export * from './detector';
export * from './embed';
export * from './forest';
