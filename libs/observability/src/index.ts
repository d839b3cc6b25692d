export * from './logger';
export * from './request-context';
export * from './readiness';
export * from './observability.module';
