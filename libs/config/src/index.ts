export * from './config.types';
export * from './config.loader';
export * from './config.module';
export { configSchema, isLoopbackHost } from './config.schema';
export { protoDir } from './proto.paths';
