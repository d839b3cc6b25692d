export * from './reconcile.module';
export * from './reconcile.service';
export * from './reconcile.types';
export * from './core.monitor';
export * from './config-file.writer';
export * from './expiry.scheduler';
export * from './status.service';
