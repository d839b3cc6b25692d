import { Injectable } from '@nestjs/common';
import { Key, KeyPage, NotFoundError } from '@keyd/domain';
import { KeyRepository } from '@keyd/store';
import * as input from './key-input.validation';

export interface ListCommand {
  status?: unknown;
  pageSize?: unknown;
  pageToken?: unknown;
}

/** Reads: one owner's current key, and cursor-paginated listings. */
@Injectable()
export class KeysService {
  constructor(private readonly keys: KeyRepository) {}

  async get(ownerIdValue: unknown): Promise<Key> {
    const ownerId = input.ownerId(ownerIdValue);
    const key = await this.keys.findCurrentByOwner(ownerId);
    if (!key) throw new NotFoundError(`no key for owner_id ${JSON.stringify(ownerId)}`);
    return key;
  }

  async list(cmd: ListCommand): Promise<KeyPage> {
    const q = input.parseCommand(input.listKeysSchema, {
      status: cmd.status,
      page_size: cmd.pageSize,
      page_token: cmd.pageToken,
    });
    const { status } = q;
    const limit = q.page_size || input.DEFAULT_PAGE_SIZE;
    const afterId = q.page_token ?? 0;
    const rows = await this.keys.list({ status, afterId, limit: limit + 1 });
    const page = rows.slice(0, limit);
    return {
      keys: page,
      nextPageToken: rows.length > limit ? input.encodePageToken(page[page.length - 1].id) : '',
    };
  }
}
