import { InvalidArgumentError, KEY_STATUSES, KeyStatus, LIMIT_RESETS, LimitReset } from '@keyd/domain';

export const MAX_OWNER_LENGTH = 128;
/** Ten years: anything longer is a unit mistake (milliseconds sent as seconds), not a plan. */
export const MAX_DURATION_SECONDS = 10 * 366 * 86_400;
const REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;
const CONTROL = /\p{Cc}|\p{Cs}/u;
/**
 * Characters that change how text around them is shown without showing
 * themselves: bidirectional embeddings, overrides, isolates and marks, and the
 * zero-width ones. With them two different owner ids could look the same.
 */
const INVISIBLE = /[\u061C\u180E\u200B-\u200F\u202A-\u202E\u2060-\u2064\u2066-\u206F\uFEFF]/u;

/** The owner id in NFC, so that one name typed with composed or decomposed accents is one owner. */
export function ownerId(raw: unknown, field = 'owner_id'): string {
  if (typeof raw !== 'string' || raw.trim() === '') throw new InvalidArgumentError(field, 'is required');
  const value = raw.normalize('NFC');
  if (INVISIBLE.test(value))
    throw new InvalidArgumentError(field, 'must not contain bidirectional-control or zero-width characters');
  if ([...value].length > MAX_OWNER_LENGTH)
    throw new InvalidArgumentError(field, `must be at most ${MAX_OWNER_LENGTH} characters`);
  if (CONTROL.test(value)) throw new InvalidArgumentError(field, 'must not contain control characters');
  if (value !== value.trim()) throw new InvalidArgumentError(field, 'must not start or end with white space');
  return value;
}

export function durationSeconds(value: unknown, field = 'duration_seconds'): number {
  const n = typeof value === 'string' && /^-?\d+$/.test(value) ? Number(value) : value;
  if (typeof n !== 'number' || !Number.isSafeInteger(n))
    throw new InvalidArgumentError(field, 'must be a whole number of seconds');
  if (n <= 0) throw new InvalidArgumentError(field, 'must be positive');
  if (n > MAX_DURATION_SECONDS)
    throw new InvalidArgumentError(field, `must be at most ${MAX_DURATION_SECONDS} (ten years)`);
  return n;
}

export function requestId(value: unknown, field = 'request_id'): string | undefined {
  if (value === undefined || value === null || value === '') return undefined;
  if (typeof value !== 'string' || !REQUEST_ID.test(value))
    throw new InvalidArgumentError(field, 'must be 1-128 letters, digits or . _ : -');
  return value;
}

/** Undefined when not given; 0 means unlimited. */
export function dataLimitBytes(value: unknown, field = 'data_limit_bytes'): number | undefined {
  if (value === undefined || value === null) return undefined;
  const n = typeof value === 'string' && /^\d{1,16}$/.test(value) ? Number(value) : value;
  if (typeof n !== 'number' || !Number.isSafeInteger(n) || n < 0)
    throw new InvalidArgumentError(field, 'must be a whole number of bytes, 0 or more (0 means unlimited)');
  return n;
}

const NAME = /^[A-Za-z0-9._-]{1,64}$/;

/** A node or node group name; undefined when not given. */
export function nodeGroup(value: unknown, field = 'node_group'): string | undefined {
  if (value === undefined || value === null || value === '') return undefined;
  if (typeof value !== 'string' || !NAME.test(value))
    throw new InvalidArgumentError(field, 'must be 1-64 letters, digits or . _ -');
  return value;
}

export const MAX_DEVICE_LIMIT = 256;

/** Undefined when not given; 0 means unlimited. */
export function deviceLimit(value: unknown, field = 'device_limit'): number | undefined {
  if (value === undefined || value === null) return undefined;
  const n = typeof value === 'string' && /^\d{1,4}$/.test(value) ? Number(value) : value;
  if (typeof n !== 'number' || !Number.isInteger(n) || n < 0 || n > MAX_DEVICE_LIMIT)
    throw new InvalidArgumentError(field, `must be a whole number from 0 to ${MAX_DEVICE_LIMIT} (0 means unlimited)`);
  return n;
}

/** Accepts the plain names and the gRPC enum names; undefined when not given. */
export function limitReset(value: unknown, field = 'data_limit_reset'): LimitReset | undefined {
  if (value === undefined || value === null || value === '' || value === 'LIMIT_RESET_UNSPECIFIED') return undefined;
  const name = typeof value === 'string' ? value.replace(/^LIMIT_RESET_/, '').toLowerCase() : '';
  if ((LIMIT_RESETS as readonly string[]).includes(name)) return name as LimitReset;
  throw new InvalidArgumentError(field, `must be one of ${LIMIT_RESETS.join(', ')}`);
}

export function keyStatus(value: unknown, field = 'status'): KeyStatus | undefined {
  if (value === undefined || value === null || value === '' || value === 'KEY_STATUS_UNSPECIFIED' || value === 0)
    return undefined;
  if (typeof value === 'string' && (KEY_STATUSES as readonly string[]).includes(value)) return value as KeyStatus;
  throw new InvalidArgumentError(field, `must be one of ${KEY_STATUSES.join(', ')}`);
}

export const DEFAULT_PAGE_SIZE = 100;
export const MAX_PAGE_SIZE = 1000;

export function pageSize(value: unknown, field = 'page_size'): number {
  if (value === undefined || value === null || value === '' || value === 0) return DEFAULT_PAGE_SIZE;
  const n = typeof value === 'string' && /^\d+$/.test(value) ? Number(value) : value;
  if (typeof n !== 'number' || !Number.isInteger(n) || n < 1 || n > MAX_PAGE_SIZE)
    throw new InvalidArgumentError(field, `must be 1-${MAX_PAGE_SIZE}`);
  return n;
}

/** Page tokens are opaque to callers: the last id seen, base64url-encoded. */
export function encodePageToken(lastId: number): string {
  return Buffer.from(`k:${lastId}`).toString('base64url');
}

export function pageToken(value: unknown, field = 'page_token'): number {
  if (value === undefined || value === null || value === '') return 0;
  const decoded = typeof value === 'string' ? Buffer.from(value, 'base64url').toString() : '';
  const m = /^k:(\d{1,15})$/.exec(decoded);
  if (!m) throw new InvalidArgumentError(field, 'is not a token this server issued');
  return Number(m[1]);
}

export class RequestIdReusedError extends InvalidArgumentError {
  constructor() {
    super('request_id', 'was already used for a different grant');
  }
}

export class RequiredFieldError extends InvalidArgumentError {
  constructor(field: string) {
    super(field, 'is required');
  }
}
