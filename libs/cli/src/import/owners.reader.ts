import { parse } from 'csv-parse/sync';
import { CliError, EXIT } from '../exit.codes';

/** One owners-file row as the wire carries it: text, validated by the daemon. */
export interface OwnerRow {
  line: number;
  owner_id: string;
  uuid: string;
  subscription_end: string;
  data_limit_bytes: string;
  data_limit_reset: string;
  error: string;
}

const REQUIRED = ['owner_id', 'uuid', 'subscription_end'];
const COLUMNS = [...REQUIRED, 'data_limit_bytes', 'data_limit_reset'];

const text = (v: unknown) => (v === undefined || v === null ? '' : typeof v === 'string' ? v : JSON.stringify(v));

function row(line: number, get: (column: string) => unknown, error = ''): OwnerRow {
  return {
    line,
    owner_id: text(get('owner_id')),
    uuid: text(get('uuid')),
    subscription_end: text(get('subscription_end')),
    data_limit_bytes: text(get('data_limit_bytes')),
    data_limit_reset: text(get('data_limit_reset')),
    error,
  };
}

/** JSON Lines: one object per line; blank lines are skipped, a line that isn't an object is a bad row. */
function jsonLines(content: string): OwnerRow[] {
  const rows: OwnerRow[] = [];
  content.split(/\r?\n/).forEach((raw, i) => {
    if (raw.trim() === '') return;
    let value: unknown;
    try {
      value = JSON.parse(raw);
    } catch {
      value = undefined;
    }
    if (typeof value !== 'object' || value === null || Array.isArray(value)) {
      rows.push(row(i + 1, () => '', 'not a JSON object'));
      return;
    }
    const o = value as Record<string, unknown>;
    rows.push(row(i + 1, (c) => o[c]));
  });
  return rows;
}

/** CSV with a header naming the columns, in any order. */
function csv(content: string): OwnerRow[] {
  let records: { record: string[]; info: { lines: number } }[];
  try {
    records = parse(content, {
      info: true,
      skip_empty_lines: true,
      trim: true,
      relax_column_count: true,
      bom: true,
    }) as unknown as typeof records;
  } catch (e) {
    throw new CliError(`the owners file is not readable CSV: ${(e as Error).message}`, EXIT.BAD_ARGUMENTS);
  }
  const [head, ...body] = records;
  const header = (head?.record ?? []).map((h) => h.toLowerCase());
  const missing = REQUIRED.filter((c) => !header.includes(c));
  if (missing.length)
    throw new CliError(
      `the owners file's header (line 1) lacks ${missing.join(', ')}; columns are ${COLUMNS.join(', ')}`,
      EXIT.BAD_ARGUMENTS,
    );
  // Each column's place, found once rather than for every field of every row.
  const at = new Map(COLUMNS.map((c) => [c, header.indexOf(c)]));
  return body.map(({ record, info }) =>
    row(
      info.lines,
      (c) => {
        const i = at.get(c) ?? -1;
        return i < 0 ? '' : record[i];
      },
      record.length === header.length ? '' : `${record.length} fields, the header has ${header.length}`,
    ),
  );
}

/** CSV or JSON Lines, told apart by the first character that isn't white space. */
export function readOwners(content: string): OwnerRow[] {
  return content.trimStart().startsWith('{') ? jsonLines(content) : csv(content);
}
