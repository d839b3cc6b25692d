export * from './keys.module';
export * from './keys.service';
export * from './key-sync.service';
export * from './key.events';
export * from './key-link.builder';
export * from './owner-locks';
export * from './key-input.validation';
