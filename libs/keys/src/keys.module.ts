import { Module } from '@nestjs/common';
import { CLOCK, systemClock } from '@keyd/domain';
import { StoreModule } from '@keyd/store';
import { XrayModule } from '@keyd/xray';
import { KeyEvents } from './key.events';
import { KeyLinkBuilder } from './key-link.builder';
import { KeySyncService } from './key-sync.service';
import { KeysService } from './keys.service';
import { OwnerLocks } from './owner-locks';

@Module({
  imports: [StoreModule, XrayModule],
  providers: [
    KeysService,
    KeySyncService,
    KeyLinkBuilder,
    { provide: OwnerLocks, useValue: new OwnerLocks() },
    { provide: KeyEvents, useValue: new KeyEvents() },
    { provide: CLOCK, useValue: systemClock },
  ],
  exports: [KeysService, KeySyncService, KeyLinkBuilder, OwnerLocks, KeyEvents, CLOCK, StoreModule, XrayModule],
})
export class KeysModule {}
