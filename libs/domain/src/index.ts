export * from './domain.errors';
export * from './key.types';
