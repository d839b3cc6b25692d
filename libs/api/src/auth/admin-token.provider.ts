import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { Inject, Injectable, OnModuleInit } from '@nestjs/common';
import { KEYD_CONFIG, KeydConfig } from '@keyd/config';
import { AppLogger, LOGGER } from '@keyd/observability';

/**
 * The admin API's bearer token: KEYD_ADMIN_TOKEN, or one generated at first
 * start and kept next to the database with mode 0600. Only the file's path is
 * ever logged.
 */
@Injectable()
export class AdminToken implements OnModuleInit {
  private token = '';

  constructor(
    @Inject(KEYD_CONFIG) private readonly config: Pick<KeydConfig, 'http' | 'db'>,
    @Inject(LOGGER) private readonly log: AppLogger,
  ) {}

  get value(): string {
    return this.token;
  }

  onModuleInit(): void {
    if (this.config.http.adminToken) {
      this.token = this.config.http.adminToken;
      return;
    }
    const file = join(dirname(resolve(this.config.db.path)), 'admin.token');
    if (existsSync(file)) {
      this.token = readFileSync(file, 'utf8').trim();
      this.log.info({ path: file }, 'admin token read from file');
      return;
    }
    this.token = randomBytes(32).toString('base64url');
    writeFileSync(file, `${this.token}\n`, { mode: 0o600, flag: 'wx' });
    this.log.warn({ path: file }, 'KEYD_ADMIN_TOKEN is unset: generated an admin token and stored it in this file');
  }
}
