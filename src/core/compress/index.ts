export * from './proximal';
export * from './config';
export * from './compressor';
export * from './remove';
export * from './size';
