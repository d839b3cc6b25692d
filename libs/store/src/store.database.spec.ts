import { chmodSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { StoreDatabase } from './store.database';

const modeOf = (path: string) => statSync(path).mode & 0o777;

describe('StoreDatabase files', () => {
  let dir: string;
  beforeEach(() => (dir = mkdtempSync(join(tmpdir(), 'keyd-store-'))));
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('creates the database, its -wal and -shm files and their directory private', async () => {
    const file = join(dir, 'new', 'keyd.sqlite');
    const db = await StoreDatabase.open(file);
    try {
      expect([join(dir, 'new'), file, `${file}-wal`, `${file}-shm`].map(modeOf)).toEqual([0o700, 0o600, 0o600, 0o600]);
    } finally {
      await db.close();
    }
  });

  it('narrows a database an older keyd left readable by others', async () => {
    const file = join(dir, 'keyd.sqlite');
    await (await StoreDatabase.open(file)).close();
    chmodSync(file, 0o644);
    const db = await StoreDatabase.open(file);
    try {
      expect(modeOf(file)).toBe(0o600);
    } finally {
      await db.close();
    }
  });
});
