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
    // Left to itself, the planner walks the status index, every live key for every batch: an import of
    // n rows then costs O(n²). The live-owner index answers each owner on its own.
    findLiveByOwners: (owners) =>
      keys(
        `SELECT * FROM keys INDEXED BY ux_keys_live_owner
         WHERE owner_id IN (SELECT value FROM json_each(?)) AND status IN ('ACTIVE', 'SUSPENDED')`,
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
