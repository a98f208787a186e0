export * from './architectures';
export * from './teachers';
