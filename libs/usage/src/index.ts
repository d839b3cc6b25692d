export * from './usage.module';
export * from './usage.poller';
export * from './usage.math';
