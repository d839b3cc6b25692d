export * from './sessions.module';
export * from './sessions.service';
export * from './access-log.parser';
export * from './session.table';
export * from './device-limit.service';
export * from './device.table';
