/** A UUID anywhere in a string: a key's credential, as older keys' emails and core messages carry it. */
const UUID = /([0-9a-f]{8})-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/gi;
const MAX_DEPTH = 8;

/** The UUIDs in a string cut to their first 8 hex digits: enough to tell keys apart, useless as a credential. */
export function maskUuids(text: string): string {
  return text.replace(UUID, '$1-…');
}

/** A copy of a log line's fields with errors reduced to safe fields, at any depth. */
export function scrubLogFields(value: unknown, depth = 0, seen = new WeakSet<object>()): unknown {
  if (value instanceof Error) return scrubLogFields(serializeError(value), depth, seen);
  if (value === null || typeof value !== 'object' || depth >= MAX_DEPTH) return value;
  if (seen.has(value)) return '[circular]';
  seen.add(value);
  if (Array.isArray(value)) return value.map((v) => scrubLogFields(v, depth + 1, seen));
  if (value instanceof Date || Buffer.isBuffer(value)) return value;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) out[k] = scrubLogFields(v, depth + 1, seen);
  return out;
}

/**
 * Fields of an error worth a log line. Everything else an error carries is
 * dropped, because libraries attach their inputs to it: TypeORM's
 * QueryFailedError holds the SQL and its parameters (UUIDs, tokens) in
 * `query`, `parameters` and `driverError`, and a TypeError from `new URL()`
 * holds the URL in `input`.
 */
const ERROR_FIELDS = ['code', 'kind', 'errno', 'syscall', 'details'] as const;

export function serializeError(e: unknown, depth = 0): unknown {
  if (!(e instanceof Error)) return typeof e === 'object' && e !== null ? { message: String(e) } : e;
  const out: Record<string, unknown> = { type: e.constructor?.name ?? e.name, message: e.message, stack: e.stack };
  const fields = e as unknown as Record<string, unknown>;
  for (const f of ERROR_FIELDS) if (typeof fields[f] === 'string' || typeof fields[f] === 'number') out[f] = fields[f];
  if (e.cause !== undefined && depth < 3) out['cause'] = serializeError(e.cause, depth + 1);
  return out;
}
