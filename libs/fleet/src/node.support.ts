import { Inject, Injectable } from '@nestjs/common';
import { KEYD_CONFIG, KeydConfig } from '@keyd/config';
import { AppLogger, LOGGER } from '@keyd/observability';
import { CoreMonitor } from '@keyd/reconcile';
import { KeyRepository } from '@keyd/store';
import { FleetAuthority } from './fleet.authority';

/** What node views read besides the fleet: the local core and its keys, the link defaults, the log, the CA. */
@Injectable()
export class NodeSupport {
  constructor(
    readonly monitor: CoreMonitor,
    readonly keys: KeyRepository,
    @Inject(KEYD_CONFIG) readonly config: Pick<KeydConfig, 'link'>,
    @Inject(LOGGER) readonly log: AppLogger,
    readonly authority: FleetAuthority,
  ) {}
}
