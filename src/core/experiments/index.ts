export * from './plan';
export * from './sweep';
