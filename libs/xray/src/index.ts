export * from './xray.client';
export * from './xray.errors';
export * from './xray.types';
export * from './xray.module';
export { coreFlavor } from './core.flavor';
