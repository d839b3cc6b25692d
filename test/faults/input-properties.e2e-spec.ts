import * as grpc from '@grpc/grpc-js';
import fc from 'fast-check';
import { grpcCode } from '../support/keyd.harness';
import { unaryStatus } from '../support/raw-socket.harness';
import { startStack, Stack } from '../support/stack.harness';

const TOKEN = 'input-properties-admin-token-0000000';
const MAX_DURATION = 10 * 366 * 86_400;
const RUNS = 150;

/** One field made invalid at a time, so every generated request is certainly invalid. */
const badOwner = fc.oneof(
  fc.constant(''),
  fc.stringOf(fc.constantFrom(' ', '\t', '\n'), { minLength: 1, maxLength: 5 }),
  fc.fullUnicodeString({ minLength: 129, maxLength: 400 }).filter((s) => [...s].length > 128),
  fc
    .tuple(
      fc.string({ maxLength: 10 }),
      fc.constantFrom('\u0000', '\u0007', '\u001b', '\u007f'),
      fc.string({ maxLength: 10 }),
    )
    .map((p) => p.join('')),
  fc.string({ minLength: 1, maxLength: 20 }).map((s) => ` ${s}`),
  fc
    .tuple(
      fc.string({ maxLength: 10 }),
      fc.constantFrom('\u202e', '\u2066', '\u200f', '\u200b', '\u200d', '\ufeff'),
      fc.string({ maxLength: 10 }),
    )
    .map((p) => p.join('')),
);
/** What an owner id must not hold: control, surrogate, bidirectional-control and zero-width characters. */
const UNACCEPTED = /[\p{Cc}\p{Cs}\u061C\u180E\u200B-\u200F\u202A-\u202E\u2060-\u2064\u2066-\u206F\uFEFF]/gu;
const badDuration = fc.oneof(
  fc.integer({ min: -(2 ** 31), max: 0 }),
  fc.integer({ min: MAX_DURATION + 1, max: Number.MAX_SAFE_INTEGER }),
);
const badRequestId = fc.oneof(
  fc.string({ minLength: 129, maxLength: 200 }).map((s) => `r${s.replace(/[^A-Za-z0-9]/g, 'x')}`.padEnd(129, 'x')),
  fc.fullUnicodeString({ minLength: 1, maxLength: 30 }).filter((s) => !/^[A-Za-z0-9._:-]+$/.test(s)),
);
const badLimit = fc.oneof(fc.integer({ min: -(2 ** 31), max: -1 }), fc.constant(-Number.MAX_SAFE_INTEGER));
const goodOwner = fc.string({ minLength: 1, maxLength: 40 }).map((s) => `o-${s.replace(/[^A-Za-z0-9]/g, '')}`);
const invalidGrant = fc.oneof(
  fc.record({ owner_id: badOwner, duration_seconds: fc.constant(3600), request_id: fc.constant('') }),
  fc.record({ owner_id: goodOwner, duration_seconds: badDuration, request_id: fc.constant('') }),
  fc.record({ owner_id: goodOwner, duration_seconds: fc.constant(3600), request_id: badRequestId }),
  fc.record({
    owner_id: goodOwner,
    duration_seconds: fc.constant(3600),
    request_id: fc.constant(''),
    data_limit_bytes: badLimit,
  }),
);

describe('property: hostile input is refused and changes nothing', () => {
  let s: Stack;
  const admin = (path: string, init: RequestInit = {}) =>
    fetch(`${s.keyd.httpUrl}${path}`, {
      ...init,
      headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json', ...init.headers },
    });
  const snapshot = async () => JSON.stringify(await (await admin('/v1/keys?page_size=1000')).json());

  beforeAll(async () => (s = await startStack({ name: 'inputs', env: { KEYD_ADMIN_TOKEN: TOKEN } })));
  afterAll(() => s.teardown());

  it('accepts well-formed unicode owners (so the properties below are not vacuous)', async () => {
    await fc.assert(
      fc.asyncProperty(fc.fullUnicodeString({ minLength: 1, maxLength: 128 }), async (raw) => {
        // In NFC already, since keyd answers with the normalized id.
        const owner = `u${raw.normalize('NFC').replace(UNACCEPTED, '').trim()}`.slice(0, 128).trim();
        fc.pre([...owner].length <= 128 && owner.length > 0);
        const res = await admin('/v1/grants', {
          method: 'POST',
          body: JSON.stringify({ owner_id: owner, duration_seconds: 60 }),
        });
        expect(res.status).toBe(200);
        expect(((await res.json()) as { key: { owner_id: string } }).key.owner_id).toBe(owner);
      }),
      { numRuns: 30 },
    );
  });

  it('HTTP: invalid grants get 400 naming the field; the database is unchanged', async () => {
    const before = await snapshot();
    await fc.assert(
      fc.asyncProperty(invalidGrant, async (body) => {
        const res = await admin('/v1/grants', { method: 'POST', body: JSON.stringify(body) });
        const json = (await res.json()) as { error?: { code: string; message: string } };
        expect(res.status).toBe(400);
        expect(json.error?.code).toBe('INVALID_ARGUMENT');
        expect(json.error?.message).toMatch(/owner_id|duration_seconds|request_id|data_limit_bytes/);
      }),
      { numRuns: RUNS },
    );
    expect(await snapshot()).toBe(before);
  });

  it('HTTP: bodies that are not JSON objects get a 4xx; the database is unchanged', async () => {
    const before = await snapshot();
    const notJson = fc.string({ maxLength: 200 }).filter((t) => {
      try {
        JSON.parse(t);
        return false;
      } catch {
        return true;
      }
    });
    const wrongShape = fc
      .oneof(
        fc.array(fc.integer()),
        fc.integer(),
        fc.constant(null),
        fc.string(),
        fc.dictionary(fc.string(), fc.jsonValue()),
      )
      .map((v) => JSON.stringify(v));
    await fc.assert(
      fc.asyncProperty(fc.oneof(notJson, wrongShape), async (text) => {
        const res = await admin('/v1/grants', { method: 'POST', body: text });
        expect(res.status).toBeGreaterThanOrEqual(400);
        expect(res.status).toBeLessThan(500);
        expect(((await res.json()) as { error?: { code: string } }).error?.code).toBeDefined();
      }),
      { numRuns: RUNS },
    );
    expect(await snapshot()).toBe(before);
  });

  it('gRPC: invalid grants get INVALID_ARGUMENT; the database is unchanged', async () => {
    const before = await snapshot();
    await fc.assert(
      fc.asyncProperty(invalidGrant, async (req) => {
        expect(await grpcCode(s.api.call('GrantAccess', req))).toBe(grpc.status.INVALID_ARGUMENT);
      }),
      { numRuns: RUNS },
    );
    expect(await snapshot()).toBe(before);
  });

  it('gRPC: bytes that are not a GrantAccessRequest get INVALID_ARGUMENT; the database is unchanged', async () => {
    const raw = new grpc.Client(s.keyd.grpcAddr, grpc.credentials.createInsecure());
    const call = (bytes: Buffer) => unaryStatus(raw, '/keyd.v1.KeyManager/GrantAccess', bytes);
    const varint = (n: number): number[] => (n < 0x80 ? [n] : [(n & 0x7f) | 0x80, ...varint(Math.floor(n / 0x80))]);
    // A length-delimited field whose length runs past the end, or a reserved wire type: never decodable. The
    // last is a good grant but for owner_id's wire type (7, reserved), which protobufjs alone would decode.
    const malformed = fc.oneof(
      fc.uint8Array({ maxLength: 20 }).map((rest) => Buffer.from([0x0a, rest.length + 1 + (rest.length % 7), ...rest])),
      fc.uint8Array({ maxLength: 20 }).map((rest) => Buffer.from([0x0f, ...rest])),
      fc
        .tuple(fc.stringMatching(/^[a-z0-9]{1,40}$/), fc.integer({ min: 60, max: 86_400 }))
        .map(([owner, seconds]) => Buffer.from([0x0f, owner.length, ...Buffer.from(owner), 0x10, ...varint(seconds)])),
    );
    const before = await snapshot();
    try {
      await fc.assert(
        fc.asyncProperty(malformed, async (bytes) => {
          expect(await call(bytes)).toBe(grpc.status.INVALID_ARGUMENT);
        }),
        { numRuns: RUNS },
      );
    } finally {
      raw.close();
    }
    expect(await snapshot()).toBe(before);
  });

  it('a request_id reused with a different body is refused on both APIs and extends nothing', async () => {
    await fc.assert(
      fc.asyncProperty(
        goodOwner,
        // Long enough that no key expires during the run and changes the snapshot for a reason of its own.
        fc.integer({ min: 3600, max: 10_000_000 }),
        fc.integer({ min: 3600, max: 10_000_000 }),
        fc.boolean(),
        async (owner, d1, d2, otherOwner) => {
          fc.pre(otherOwner || d1 !== d2);
          const rid = `rid-${owner}-${d1}-${d2}-${Number(otherOwner)}`.slice(0, 128);
          const first = await s.api.grant(owner, d1, rid);
          const before = await snapshot();
          const secondOwner = otherOwner ? `${owner}-other` : owner;
          expect(await grpcCode(s.api.grant(secondOwner, d2, rid))).toBe(grpc.status.INVALID_ARGUMENT);
          const res = await admin('/v1/grants', {
            method: 'POST',
            body: JSON.stringify({ owner_id: secondOwner, duration_seconds: d2, request_id: rid }),
          });
          expect(res.status).toBe(400);
          expect(await snapshot()).toBe(before);
          expect((await s.api.get(owner)).subscription_end).toEqual(first.key.subscription_end);
        },
      ),
      { numRuns: 25 },
    );
  });
});
