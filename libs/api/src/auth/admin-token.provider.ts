import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { Inject, Injectable, OnModuleInit } from '@nestjs/common';
import { KEYD_CONFIG, KeydConfig } from '@keyd/config';
import { AppLogger, LOGGER } from '@keyd/observability';

/** As long as KEYD_ADMIN_TOKEN must be. */
export const MIN_ADMIN_TOKEN_LENGTH = 16;

/**
 * A token file that is empty or short (a truncated write, a placeholder) would
 * lock the admin out, and one others can read gives the admin API away: either
 * stops keyd, naming the file and the fix.
 */
function readTokenFile(file: string): string {
  const mode = statSync(file).mode & 0o777;
  if (mode & 0o077)
    throw new Error(
      `${file} can be read or written by users other than keyd's (mode ${mode.toString(8).padStart(4, '0')}): run chmod 600 ${file}`,
    );
  const token = readFileSync(file, 'utf8').trim();
  if (token.length < MIN_ADMIN_TOKEN_LENGTH)
    throw new Error(
      `${file} holds ${token.length ? 'a token shorter than' : 'no token; it needs'} ${MIN_ADMIN_TOKEN_LENGTH} characters: ` +
        'write a longer one, or delete the file to have keyd generate one',
    );
  return token;
}

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
      this.token = readTokenFile(file);
      this.log.info({ path: file }, 'admin token read from file');
      return;
    }
    this.token = randomBytes(32).toString('base64url');
    writeFileSync(file, `${this.token}\n`, { mode: 0o600, flag: 'wx' });
    this.log.warn({ path: file }, 'KEYD_ADMIN_TOKEN is unset: generated an admin token and stored it in this file');
  }
}
