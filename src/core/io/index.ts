export * from './layers-format';
export * from './load';
export * from './upload';
export * from './size';
