import { Module } from '@nestjs/common';
import { CLOCK, systemClock } from '@keyd/domain';
import { StoreModule } from '@keyd/store';
import { XrayModule } from '@keyd/xray';
import { BulkPushTracker } from './bulk-push.tracker';
import { GrantRecorder } from './grant.recorder';
import { GrantService } from './grant.service';
import { BulkPusher } from './bulk.pusher';
import { ImportService } from './import.service';
import { KeyAdminService } from './key-admin.service';
import { KeyChanges } from './key.changes';
import { KeyEvents } from './key.events';
import { KeyFactory } from './key.factory';
import { KeyLinkBuilder } from './key-link.builder';
import { KeySyncService } from './key-sync.service';
import { KeyViews } from './key.views';
import { KeysService } from './keys.service';
import { OwnerLocks } from './owner.locks';
import { RequestLedgerPruner } from './request-ledger.pruner';

@Module({
  imports: [StoreModule, XrayModule],
  providers: [
    BulkPushTracker,
    GrantService,
    GrantRecorder,
    BulkPusher,
    ImportService,
    KeyAdminService,
    KeyChanges,
    KeyFactory,
    KeysService,
    KeySyncService,
    KeyLinkBuilder,
    KeyViews,
    RequestLedgerPruner,
    { provide: OwnerLocks, useValue: new OwnerLocks() },
    { provide: KeyEvents, useValue: new KeyEvents() },
    { provide: CLOCK, useValue: systemClock },
  ],
  exports: [
    BulkPushTracker,
    BulkPusher,
    GrantService,
    ImportService,
    KeyAdminService,
    KeysService,
    KeySyncService,
    KeyLinkBuilder,
    KeyViews,
    OwnerLocks,
    KeyEvents,
    CLOCK,
    StoreModule,
    XrayModule,
  ],
})
export class KeysModule {}
