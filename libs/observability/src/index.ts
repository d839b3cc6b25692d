export * from './logger';
export * from './request-context';
export * from './readiness';
export * from './observability.module';
export * from './metrics';
export * from './in-flight';
