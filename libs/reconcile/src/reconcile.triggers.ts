import { Injectable } from '@nestjs/common';
import { KeyEvents } from '@keyd/keys';
import { ConfigFileWriter } from './config-file.writer';
import { ExpiryScheduler } from './expiry.scheduler';
import { KeyExpirer } from './key.expirer';
import { PendingRetrier } from './pending.retrier';

/** Reacts to key changes: moves the expiry timer, schedules a config file write, retries pending pushes. */
@Injectable()
export class ReconcileTriggers {
  constructor(
    private readonly events: KeyEvents,
    private readonly expiry: ExpiryScheduler,
    private readonly expirer: KeyExpirer,
    private readonly configFile: ConfigFileWriter,
    private readonly retrier: PendingRetrier,
  ) {}

  listen(): void {
    this.events.on('changed', ({ subscriptionEnd }) => {
      if (subscriptionEnd) this.expiry.noteEnd(subscriptionEnd);
      else this.expiry.requestRearm();
      this.configFile.request();
    });
    this.events.on('extended', () => this.expiry.requestRearm());
    this.events.on('pending', () => this.retrier.schedule());
  }

  /** Arms the expiry timer; called once the startup pass has expired what was already due. */
  startExpiry(): Promise<void> {
    return this.expiry.start(async () => {
      await this.expirer.expireDue();
    });
  }
}
