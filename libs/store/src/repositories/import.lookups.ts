import { Key } from '@keyd/domain';
import { KeyRow, rowToKey } from './key.rows';
import { ImportLookups } from './store.types';

type Query = (sql: string, params: unknown[]) => Promise<unknown>;

/**
 * What an import must know about the keys it would write, one statement per
 * question for a whole batch: the values travel as one JSON parameter, past
 * SQLite's limit on bound parameters.
 */
export function importLookups(query: Query): ImportLookups {
  const keys = async (sql: string, values: string[]): Promise<Key[]> =>
    values.length ? ((await query(sql, [JSON.stringify(values)])) as KeyRow[]).map(rowToKey) : [];
  return {
    findByUuids: (uuids) => keys('SELECT * FROM keys WHERE uuid IN (SELECT value FROM json_each(?))', uuids),
    findLiveByOwners: (owners) =>
      keys(
        `SELECT * FROM keys WHERE owner_id IN (SELECT value FROM json_each(?)) AND status IN ('ACTIVE', 'SUSPENDED')`,
        owners,
      ),
    takenEmails: async (emails) => {
      if (!emails.length) return [];
      // The column is COLLATE NOCASE, so the comparison is too, as the core's own check is.
      const rows = (await query('SELECT email FROM keys WHERE email IN (SELECT value FROM json_each(?))', [
        JSON.stringify(emails),
      ])) as { email: string }[];
      return rows.map((r) => r.email);
    },
  };
}
