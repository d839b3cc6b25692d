import { DomainError, InvalidArgumentError } from '@keyd/domain';
import * as input from './key-input.validation';
import { ImportConfigClient, ImportIssue, ImportRow, ImportRowInput } from './import.types';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const RFC3339 = /^\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}:\d{2}(\.\d{1,9})?([Zz]|[+-]\d{2}:\d{2})$/;
/** Year 9999: a later end is a unit mistake (milliseconds sent as seconds). */
const MAX_END_MS = Date.UTC(9999, 11, 31);

export function parseUuid(value: string): string | null {
  return UUID.test(value) ? value.toLowerCase() : null;
}

/** RFC 3339, or whole unix seconds. */
export function parseEnd(value: string): Date | null {
  const v = value.trim();
  const ms = /^\d{1,12}$/.test(v) ? Number(v) * 1000 : RFC3339.test(v) ? Date.parse(v) : NaN;
  return Number.isFinite(ms) && ms > 0 && ms <= MAX_END_MS ? new Date(ms) : null;
}

function reasonOf(e: unknown): string {
  if (e instanceof DomainError) return e.message;
  throw e;
}

/** One row on its own; null and the reason when it is bad. */
function validateRow(r: ImportRowInput): { row: ImportRow } | { reason: string } {
  if (r.error) return { reason: r.error };
  try {
    const ownerId = input.ownerId(r.ownerId);
    const uuid = parseUuid(r.uuid.trim());
    if (!uuid) return { reason: 'uuid: is not a UUID' };
    const end = parseEnd(r.subscriptionEnd);
    if (!end) return { reason: 'subscription_end: must be RFC 3339 or unix seconds' };
    const limit = r.dataLimitBytes.trim() === '' ? 0 : input.dataLimitBytes(r.dataLimitBytes.trim());
    const reset = input.limitReset(r.limitReset.trim()) ?? 'none';
    return {
      row: { line: r.line, ownerId, uuid, subscriptionEnd: end, dataLimitBytes: limit ?? 0, limitReset: reset },
    };
  } catch (e) {
    return { reason: reasonOf(e) };
  }
}

export interface ValidatedRows {
  valid: ImportRow[];
  invalid: ImportIssue[];
}

/**
 * Every row on its own, then the rows against each other: one UUID on two
 * rows, or two rows that would both be live for one owner, make each of those
 * rows invalid, since nothing says which one is right.
 */
export function validateRows(rows: ImportRowInput[], now: Date): ValidatedRows {
  const invalid: ImportIssue[] = [];
  const checked: ImportRow[] = [];
  for (const r of rows) {
    const v = validateRow(r);
    if ('reason' in v) invalid.push({ line: r.line, ownerId: r.ownerId, uuid: r.uuid, reason: v.reason });
    else checked.push(v.row);
  }
  const linesBy = (key: (r: ImportRow) => string | null) => {
    const m = new Map<string, number[]>();
    for (const r of checked) {
      const k = key(r);
      if (k !== null) m.set(k, [...(m.get(k) ?? []), r.line]);
    }
    return m;
  };
  const byUuid = linesBy((r) => r.uuid);
  const liveByOwner = linesBy((r) => (r.subscriptionEnd > now ? r.ownerId : null));
  const valid: ImportRow[] = [];
  for (const r of checked) {
    const others = (lines: number[] | undefined) => (lines ?? []).filter((l) => l !== r.line);
    const sameUuid = others(byUuid.get(r.uuid));
    const sameOwner = r.subscriptionEnd > now ? others(liveByOwner.get(r.ownerId)) : [];
    const reason = sameUuid.length
      ? `uuid: also on line ${sameUuid.join(', ')}`
      : sameOwner.length
        ? `owner_id: another live row on line ${sameOwner.join(', ')}`
        : null;
    if (reason) invalid.push({ line: r.line, ownerId: r.ownerId, uuid: r.uuid, reason });
    else valid.push(r);
  }
  invalid.sort((a, b) => a.line - b.line);
  return { valid, invalid };
}

/** Config clients with a readable UUID; the others are reported, never imported. */
export function validateClients(clients: ImportConfigClient[]): {
  clients: ImportConfigClient[];
  invalid: ImportIssue[];
} {
  const ok: ImportConfigClient[] = [];
  const invalid: ImportIssue[] = [];
  for (const c of clients) {
    const uuid = parseUuid(c.uuid.trim());
    if (uuid) ok.push({ uuid, email: c.email });
    else invalid.push({ line: 0, ownerId: '', uuid: c.uuid, reason: 'config client: id is not a UUID' });
  }
  return { clients: ok, invalid };
}

const SHOWN = 50;

/** The whole file is refused: every bad line is named, up to a screenful. */
export class ImportRefusedError extends InvalidArgumentError {
  constructor(readonly issues: ImportIssue[]) {
    const lines = issues
      .slice(0, SHOWN)
      .map((i) => (i.line ? `line ${i.line}: ${i.reason}` : `${i.reason} (${i.uuid})`));
    const more = issues.length > SHOWN ? `\n  … and ${issues.length - SHOWN} more` : '';
    super(
      'owners',
      `the file is refused and nothing was written: ${issues.length} invalid ` +
        `${issues.length === 1 ? 'row' : 'rows'} (--skip-invalid imports the rest)\n  ${lines.join('\n  ')}${more}`,
    );
  }
}
