export * from './attacks';
