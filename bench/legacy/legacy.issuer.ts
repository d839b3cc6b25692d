import { randomUUID } from 'crypto';
import { promises as fs } from 'fs';
import { CoreProcess } from '../../test/support/core.harness';

export interface LegacyKey {
  ownerId: string;
  uuid: string;
  email: string;
}

interface CoreConfigFile {
  inbounds?: { tag?: string; settings?: { clients?: unknown[] } }[];
}

/** One holder at a time, in arrival order. */
class FileLock {
  private tail: Promise<unknown> = Promise.resolve();

  run<T>(fn: () => Promise<T>): Promise<T> {
    const result = this.tail.then(fn, fn);
    this.tail = result.catch(() => undefined);
    return result;
  }
}

/**
 * The issuance flow keyd replaced, rebuilt as the baseline; not part of keyd.
 * Per key it reads the config file, appends the client, writes the file back
 * and restarts the core from it. The read happens before the lock is taken,
 * as it did, so two issuances that overlap both start from the same file and
 * the later write drops the earlier key. The write and the restart happen
 * under the lock: restarts must not overlap, since two cores cannot bind the
 * same ports. The save itself is atomic (temp file and rename), so that the
 * one defect measured is the lost update, not torn reads of a half-written file.
 */
export class LegacyIssuer {
  restarts = 0;
  private readonly lock = new FileLock();

  constructor(
    private readonly configPath: string,
    private readonly core: CoreProcess,
    private readonly inboundTag = 'vless-in',
  ) {}

  async issue(ownerId: string): Promise<LegacyKey> {
    const config = JSON.parse(await fs.readFile(this.configPath, 'utf8')) as CoreConfigFile;
    const inbound = config.inbounds?.find((i) => i.tag === this.inboundTag);
    if (!inbound) throw new Error(`no inbound tagged "${this.inboundTag}" in ${this.configPath}`);
    const uuid = randomUUID();
    const email = `${ownerId}.${uuid}`;
    inbound.settings ??= {};
    inbound.settings.clients = [...(inbound.settings.clients ?? []), { id: uuid, email, level: 0 }];
    await this.lock.run(async () => {
      await fs.writeFile(`${this.configPath}.tmp`, `${JSON.stringify(config, null, 2)}\n`);
      await fs.rename(`${this.configPath}.tmp`, this.configPath);
      await this.restartCore();
    });
    return { ownerId, uuid, email };
  }

  /** What `systemctl restart` did: SIGTERM, wait for the exit, start again, wait until both ports answer. */
  private async restartCore(): Promise<void> {
    await this.core.kill('SIGTERM');
    this.restarts++;
    await this.core.start(this.configPath);
  }
}
