import { InvalidArgumentError } from '@keyd/domain';
import {
  dataLimitSchema,
  deviceLimitSchema,
  encodePageToken,
  grantSchema,
  listKeysSchema,
  MAX_DEVICE_LIMIT,
  MAX_DURATION_SECONDS,
  MAX_OWNER_LENGTH,
  MAX_PAGE_SIZE,
  ownerId,
  parseCommand,
} from './key-input.validation';

describe('owner ids', () => {
  it('are normalized to NFC, so composed and decomposed accents name one owner', () => {
    const decomposed = 'jose\u0301';
    expect(ownerId(decomposed)).toBe('jos\u00e9');
    expect(ownerId(decomposed)).toBe(ownerId('jos\u00e9'));
  });

  it.each([
    ['a right-to-left override', 'tg:1\u202E0001'],
    ['a right-to-left isolate', 'tg:\u20671001\u2069'],
    ['a left-to-right mark', 'tg:1001\u200E'],
    ['an Arabic letter mark', 'tg:\u061C1001'],
    ['a zero-width space', 'tg:10\u200B01'],
    ['a zero-width joiner', 'tg:10\u200D01'],
    ['a word joiner', 'tg:10\u206001'],
    ['a byte order mark', '\uFEFFtg:1001'],
  ])('refuse %s with INVALID_ARGUMENT', (_name, value) => {
    expect(() => ownerId(value)).toThrow(InvalidArgumentError);
    expect(() => ownerId(value)).toThrow(/bidirectional-control or zero-width/);
  });

  it('keep visible non-Latin text', () => {
    expect(ownerId('tg:Дмитрий-李')).toBe('tg:Дмитрий-李');
  });
});

const grantOf = (raw: Record<string, unknown>) =>
  parseCommand(grantSchema, { owner_id: 'u1', duration_seconds: 60, ...raw });
const refusal = (f: () => unknown): string => {
  try {
    f();
  } catch (e) {
    expect(e).toBeInstanceOf(InvalidArgumentError);
    return (e as Error).message;
  }
  throw new Error('accepted');
};

describe('the grant command', () => {
  it('accepts numbers as JSON numbers or digit strings, and plain or gRPC enum names', () => {
    expect(
      grantOf({
        duration_seconds: '3600',
        data_limit_bytes: '0',
        device_limit: 3,
        data_limit_reset: 'LIMIT_RESET_MONTH',
      }),
    ).toEqual({
      owner_id: 'u1',
      duration_seconds: 3600,
      data_limit_bytes: 0,
      device_limit: 3,
      data_limit_reset: 'month',
    });
    expect(grantOf({ data_limit_reset: 'week' }).data_limit_reset).toBe('week');
  });

  it('treats blank values and unspecified enums as not given, as proto3 sends every unset field', () => {
    expect(
      grantOf({ request_id: '', data_limit_bytes: null, data_limit_reset: 'LIMIT_RESET_UNSPECIFIED', node_group: '' }),
    ).toEqual({ owner_id: 'u1', duration_seconds: 60 });
  });

  it.each([
    [{ owner_id: null }, 'owner_id: is required'],
    [{ owner_id: '   ' }, 'owner_id: is required'],
    [{ owner_id: 'a'.repeat(MAX_OWNER_LENGTH + 1) }, `owner_id: must be at most ${MAX_OWNER_LENGTH} characters`],
    [{ owner_id: 'a\u0007b' }, 'owner_id: must not contain control characters'],
    [{ owner_id: ' a' }, 'owner_id: must not start or end with white space'],
    [{ duration_seconds: null }, 'duration_seconds: is required'],
    [{ duration_seconds: 0 }, 'duration_seconds: must be positive'],
    [{ duration_seconds: '-5' }, 'duration_seconds: must be positive'],
    [{ duration_seconds: 1.5 }, 'duration_seconds: must be a whole number of seconds'],
    [{ duration_seconds: '1h' }, 'duration_seconds: must be a whole number of seconds'],
    [
      { duration_seconds: MAX_DURATION_SECONDS + 1 },
      `duration_seconds: must be at most ${MAX_DURATION_SECONDS} (ten years)`,
    ],
    [{ request_id: 'has space' }, 'request_id: must be 1-128 letters, digits or . _ : -'],
    [{ data_limit_bytes: -1 }, 'data_limit_bytes: must be a whole number of bytes, 0 or more (0 means unlimited)'],
    [{ data_limit_reset: 'yearly' }, 'data_limit_reset: must be one of none, day, week, month'],
    [
      { device_limit: MAX_DEVICE_LIMIT + 1 },
      `device_limit: must be a whole number from 0 to ${MAX_DEVICE_LIMIT} (0 means unlimited)`,
    ],
    [{ node_group: 'a/b' }, 'node_group: must be 1-64 letters, digits or . _ -'],
  ])('refuses %j with a message naming the field', (raw, message) => {
    expect(refusal(() => grantOf(raw))).toBe(message);
  });

  it('accepts an owner id of exactly the maximum length, counted in code points', () => {
    expect(grantOf({ owner_id: '😀'.repeat(MAX_OWNER_LENGTH) }).owner_id).toHaveLength(2 * MAX_OWNER_LENGTH);
  });

  it('names the first bad field in the order of the schema', () => {
    expect(refusal(() => grantOf({ owner_id: '', duration_seconds: 0 }))).toMatch(/^owner_id:/);
  });
});

describe('the limit commands', () => {
  it('require the limit they set', () => {
    expect(refusal(() => parseCommand(dataLimitSchema, {}))).toBe('data_limit_bytes: is required');
    expect(refusal(() => parseCommand(deviceLimitSchema, { device_limit: '' }))).toBe('device_limit: is required');
    expect(parseCommand(deviceLimitSchema, { device_limit: 0 })).toEqual({ device_limit: 0 });
  });
});

describe('the list command', () => {
  it('reads its query strings, and round-trips the page token it issues', () => {
    expect(
      parseCommand(listKeysSchema, { status: 'ACTIVE', page_size: '50', page_token: encodePageToken(42) }),
    ).toEqual({
      status: 'ACTIVE',
      page_size: 50,
      page_token: 42,
    });
    expect(parseCommand(listKeysSchema, { status: 'KEY_STATUS_UNSPECIFIED', page_token: '' })).toEqual({});
  });

  it.each([
    [{ status: 'LIVE' }, 'status: must be one of ACTIVE, EXPIRED, REVOKED, SUSPENDED'],
    [{ page_size: MAX_PAGE_SIZE + 1 }, `page_size: must be 0-${MAX_PAGE_SIZE} (0 means 100)`],
    [{ page_size: 'ten' }, `page_size: must be 0-${MAX_PAGE_SIZE} (0 means 100)`],
    [{ page_token: Buffer.from('x:1').toString('base64url') }, 'page_token: is not a token this server issued'],
  ])('refuses %j', (raw, message) => {
    expect(refusal(() => parseCommand(listKeysSchema, raw))).toBe(message);
  });
});
