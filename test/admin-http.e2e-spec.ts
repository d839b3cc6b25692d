import { execFile } from 'child_process';
import { mkdtempSync, rmSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';
import { promisify } from 'util';
import { ZodObject } from 'zod/v4';
import {
  dataLimitSchema,
  deviceLimitSchema,
  grantSchema,
  listKeysSchema,
  openApiSchema,
  parseCommand,
} from '@keyd/keys';
import { eventually } from './support/keyd.harness';
import { allPass, nonePass, startStack, Stack } from './support/stack.harness';

const TOKEN = 'admin-token-for-the-e2e-suite-0123456789';
const DAY = 86_400;

interface FieldSchema {
  type?: string;
  anyOf?: FieldSchema[];
  properties?: Record<string, FieldSchema>;
  required?: string[];
  minimum?: number;
  maximum?: number;
  minLength?: number;
  maxLength?: number;
  pattern?: string;
  enum?: unknown[];
}

interface OpenApiDocument {
  paths: Record<
    string,
    Record<
      string,
      {
        requestBody?: { content: Record<string, { schema: unknown }> };
        parameters?: { name: string; in: string; required?: boolean; schema: FieldSchema }[];
      }
    >
  >;
}

const accepts = (parse: () => unknown): boolean => {
  try {
    parse();
    return true;
  } catch {
    return false;
  }
};

/** Values on each side of every bound a field documents, each with whether the document says it is accepted. */
function probes(f: FieldSchema): [unknown, boolean][] {
  if (f.anyOf) return f.anyOf.flatMap(probes);
  const out: [unknown, boolean][] = [];
  if (f.minimum !== undefined) out.push([f.minimum, true], [f.minimum - 1, false]);
  if (f.maximum !== undefined) out.push([f.maximum, true], [f.maximum + 1, false]);
  if (f.type === 'integer') out.push([(f.minimum ?? 0) + 0.5, false]);
  if (f.minLength !== undefined && f.minLength > 0) out.push(['x'.repeat(f.minLength - 1) || ' ', false]);
  if (f.maxLength !== undefined) out.push(['x'.repeat(f.maxLength), true], ['x'.repeat(f.maxLength + 1), false]);
  if (f.pattern !== undefined) out.push(['#', new RegExp(f.pattern, 'u').test('#')]);
  if (f.enum) out.push(...f.enum.map((v): [unknown, boolean] => [v, true]), ['NOT_ONE_OF_THEM', false]);
  return out;
}

interface Answer {
  status: number;
  body: Record<string, unknown>;
  text: string;
  headers: Headers;
}

function http(s: Stack) {
  return async (
    method: string,
    path: string,
    opts: { body?: unknown; raw?: string; token?: string | null; headers?: Record<string, string> } = {},
  ): Promise<Answer> => {
    const headers: Record<string, string> = { ...opts.headers };
    const token = opts.token === undefined ? TOKEN : opts.token;
    if (token !== null) headers['authorization'] = `Bearer ${token}`;
    let payload: string | undefined = opts.raw;
    if (opts.body !== undefined) payload = JSON.stringify(opts.body);
    if (payload !== undefined) headers['content-type'] = 'application/json';
    const res = await fetch(`${s.keyd.httpUrl}${path}`, { method, headers, body: payload });
    const text = await res.text();
    let body: Record<string, unknown> = {};
    try {
      body = JSON.parse(text) as Record<string, unknown>;
    } catch {
      body = {};
    }
    return { status: res.status, body, text, headers: res.headers };
  };
}

const errorOf = (a: Answer) => (a.body['error'] ?? {}) as { code?: string; message?: string };

describe('admin HTTP API against a real core', () => {
  let s: Stack;
  let call: ReturnType<typeof http>;

  beforeAll(async () => {
    s = await startStack({
      name: 'http',
      env: { KEYD_ADMIN_TOKEN: TOKEN, KEYD_READY_CORE_GRACE_SECONDS: '2', KEYD_CORE_PROBE_INTERVAL_MS: '300' },
    });
    call = http(s);
  });
  afterAll(() => s.teardown());

  it('grants, reads, lists and revokes; the granted key passes traffic and the revoked one is refused', async () => {
    const granted = await call('POST', '/v1/grants', {
      body: { owner_id: 'web-1', duration_seconds: DAY, request_id: 'web-1-a' },
    });
    expect(granted.status).toBe(200);
    expect(granted.body['action']).toBe('ISSUED');
    const key = granted.body['key'] as Record<string, unknown>;
    expect(key['status']).toBe('ACTIVE');
    expect(key['provisioned']).toBe(true);
    expect(new Date(String(key['subscription_end'])).toISOString()).toBe(key['subscription_end']);
    expect(allPass(await s.probe([String(key['uuid'])]))).toBe(true);

    const again = await call('POST', '/v1/grants', {
      body: { owner_id: 'web-1', duration_seconds: DAY, request_id: 'web-1-a' },
    });
    expect((again.body['key'] as Record<string, unknown>)['subscription_end']).toBe(key['subscription_end']);

    const read = await call('GET', '/v1/keys/web-1');
    expect(read.status).toBe(200);
    expect(read.body['uuid']).toBe(key['uuid']);

    await call('POST', '/v1/grants', { body: { owner_id: 'web-2', duration_seconds: DAY } });
    const page1 = await call('GET', '/v1/keys?status=ACTIVE&page_size=1');
    expect((page1.body['keys'] as unknown[]).length).toBe(1);
    expect(page1.body['next_page_token']).not.toBe('');
    const page2 = await call(
      'GET',
      `/v1/keys?status=ACTIVE&page_size=1&page_token=${String(page1.body['next_page_token'])}`,
    );
    const owners = [page1, page2].map((p) => ((p.body['keys'] as Record<string, unknown>[])[0] ?? {})['owner_id']);
    expect(owners.sort()).toEqual(['web-1', 'web-2']);

    const revoked = await call('DELETE', '/v1/keys/web-1');
    expect(revoked.status).toBe(200);
    expect(revoked.body['status']).toBe('REVOKED');
    expect(nonePass(await s.probe([String(key['uuid'])]))).toBe(true);
  });

  it('answers every error with its status and one JSON shape, and changes nothing', async () => {
    const before = (await call('GET', '/v1/status')).body['keys'];
    const cases: [Answer, number, string, string?][] = [
      [
        await call('POST', '/v1/grants', { body: { owner_id: '', duration_seconds: DAY } }),
        400,
        'INVALID_ARGUMENT',
        'owner_id',
      ],
      [
        await call('POST', '/v1/grants', { body: { owner_id: 'x', duration_seconds: -1 } }),
        400,
        'INVALID_ARGUMENT',
        'duration_seconds',
      ],
      [
        await call('POST', '/v1/grants', { body: { owner_id: 'x', duration_seconds: 'soon' } }),
        400,
        'INVALID_ARGUMENT',
        'duration_seconds',
      ],
      [
        await call('POST', '/v1/grants', { body: { owner_id: 'x', duration_seconds: DAY, request_id: 'has spaces' } }),
        400,
        'INVALID_ARGUMENT',
        'request_id',
      ],
      [await call('POST', '/v1/grants', { raw: '{"owner_id": ' }), 400, 'INVALID_ARGUMENT'],
      [
        await call('POST', '/v1/grants', {
          raw: JSON.stringify({ owner_id: 'x', duration_seconds: DAY, pad: 'a'.repeat(200_000) }),
        }),
        413,
        'PAYLOAD_TOO_LARGE',
      ],
      [await call('GET', '/v1/keys?status=SLEEPING'), 400, 'INVALID_ARGUMENT', 'status'],
      [await call('GET', '/v1/keys?page_token=forged'), 400, 'INVALID_ARGUMENT', 'page_token'],
      [await call('POST', '/v1/reconcile?dry_run=maybe'), 400, 'INVALID_ARGUMENT', 'dry_run'],
      [await call('GET', '/v1/keys/nobody-at-all'), 404, 'NOT_FOUND'],
      [await call('DELETE', '/v1/keys/nobody-at-all'), 404, 'NOT_FOUND'],
      [await call('GET', '/no/such/route'), 404, 'NOT_FOUND'],
    ];
    for (const [answer, status, code, field] of cases) {
      expect({ status: answer.status, code: errorOf(answer).code }).toEqual({ status, code });
      expect(typeof errorOf(answer).message).toBe('string');
      if (field) expect(errorOf(answer).message).toContain(field);
    }
    expect((await call('GET', '/v1/status')).body['keys']).toEqual(before);
  });

  it('refuses a missing or wrong token with 401 on every /v1 route, and changes nothing', async () => {
    const before = (await call('GET', '/v1/status')).body['keys'];
    for (const token of [null, 'wrong-token-of-some-length-000000', '']) {
      for (const [method, path] of [
        ['POST', '/v1/grants'],
        ['GET', '/v1/keys/web-2'],
        ['DELETE', '/v1/keys/web-2'],
        ['GET', '/v1/keys'],
        ['POST', '/v1/reconcile'],
        ['GET', '/v1/status'],
      ] as const) {
        const a = await call(method, path, {
          token,
          body: method === 'POST' ? { owner_id: 'intruder', duration_seconds: DAY } : undefined,
        });
        expect({ path, status: a.status, code: errorOf(a).code }).toEqual({
          path,
          status: 401,
          code: 'UNAUTHENTICATED',
        });
      }
    }
    expect((await call('GET', '/v1/status')).body['keys']).toEqual(before);
    expect((await call('GET', '/v1/keys/web-2')).body['status']).toBe('ACTIVE');
    expect(s.keyd.logs()).not.toContain(TOKEN);
  });

  it('publishes an OpenAPI document listing every route and the bearer scheme', async () => {
    const doc = await call('GET', '/openapi.json', { token: null });
    expect(doc.status).toBe(200);
    expect(String(doc.body['openapi'])).toMatch(/^3\./);
    const paths = doc.body['paths'] as Record<string, Record<string, unknown>>;
    expect(Object.keys(paths['/v1/grants'])).toEqual(['post']);
    expect(Object.keys(paths['/v1/keys/{owner_id}']).sort()).toEqual(['delete', 'get']);
    expect(Object.keys(paths['/v1/keys'])).toEqual(['get']);
    expect(Object.keys(paths['/v1/reconcile'])).toEqual(['post']);
    expect(Object.keys(paths['/v1/status'])).toEqual(['get']);
    const components = doc.body['components'] as {
      securitySchemes: Record<string, { scheme: string }>;
      schemas: Record<string, unknown>;
    };
    expect(Object.values(components.securitySchemes).map((x) => x.scheme)).toContain('bearer');
    expect(Object.keys(components.schemas)).toEqual(expect.arrayContaining(['KeyJson', 'GrantJson', 'ErrorJson']));
  });

  it("documents each command's fields with the rules its schema enforces", async () => {
    const doc = (await call('GET', '/openapi.json', { token: null })).body as unknown as OpenApiDocument;
    const body = (path: string, method: string) =>
      doc.paths[path][method].requestBody?.content['application/json'].schema as FieldSchema;
    const query = (path: string): FieldSchema => {
      const params = (doc.paths[path]['get'].parameters ?? []).filter((p) => p.in === 'query');
      return {
        type: 'object',
        properties: Object.fromEntries(params.map((p) => [p.name, p.schema])),
        ...(params.some((p) => p.required) ? { required: params.filter((p) => p.required).map((p) => p.name) } : {}),
      };
    };
    const commands: [string, FieldSchema, ZodObject, Record<string, unknown>][] = [
      ['POST /v1/grants', body('/v1/grants', 'post'), grantSchema, { owner_id: 'u', duration_seconds: 60 }],
      ['PUT data-limit', body('/v1/keys/{owner_id}/data-limit', 'put'), dataLimitSchema, { data_limit_bytes: 0 }],
      ['PUT device-limit', body('/v1/keys/{owner_id}/device-limit', 'put'), deviceLimitSchema, { device_limit: 0 }],
      ['GET /v1/keys', query('/v1/keys'), listKeysSchema, {}],
    ];
    for (const [name, served, schema, valid] of commands) {
      // The served document is the schema's own JSON Schema, field for field.
      expect({ name, served }).toEqual({ name, served: openApiSchema(schema) });
      // And each documented bound is where the validation draws its line.
      for (const [field, rules] of Object.entries(served.properties ?? {})) {
        for (const [value, accepted] of probes(rules)) {
          const verdict = accepts(() => parseCommand(schema, { ...valid, [field]: value }));
          expect({ name, field, value, accepted: verdict }).toEqual({ name, field, value, accepted });
        }
      }
    }
  });

  it('moves /metrics when grants happen', async () => {
    const read = async () => {
      const text = (await call('GET', '/metrics', { token: null })).text;
      const line = text
        .split('\n')
        .find((l) => l.startsWith('keyd_grants_total{action="ISSUED",result="provisioned"}'));
      return Number(line?.split(' ')[1] ?? 0);
    };
    const before = await read();
    await call('POST', '/v1/grants', { body: { owner_id: 'metric-1', duration_seconds: DAY } });
    await call('POST', '/v1/grants', { body: { owner_id: 'metric-2', duration_seconds: DAY } });
    expect(await read()).toBe(before + 2);
    const text = (await call('GET', '/metrics', { token: null })).text;
    for (const name of [
      'keyd_core_calls_total',
      'keyd_core_call_duration_seconds_bucket',
      'keyd_keys{status="ACTIVE"}',
      'keyd_reconcile_passes_total',
      'keyd_core_up 1',
    ])
      expect(text).toContain(name);
  });

  it('carries X-Request-Id into the grant log line', async () => {
    await call('POST', '/v1/grants', {
      body: { owner_id: 'traced', duration_seconds: DAY },
      headers: { 'x-request-id': 'trace-me-42' },
    });
    // The line is written after the response; wait for it rather than race it.
    const line = await eventually(
      async () =>
        s.keyd
          .logs()
          .split('\n')
          .find((l) => l.includes('"event":"grant"') && l.includes('"owner":"traced"')),
      5000,
    );
    expect(line).toContain('"correlation_id":"trace-me-42"');
  });

  it('flips /readyz to 503 when the core is gone past the grace, and back when it returns', async () => {
    expect((await call('GET', '/readyz', { token: null })).status).toBe(200);
    await s.core.kill('SIGKILL');
    expect(await eventually(async () => (await call('GET', '/readyz', { token: null })).status === 503, 10_000)).toBe(
      true,
    );
    expect(String((await call('GET', '/readyz', { token: null })).body['reason'])).toContain('core unreachable');
    await s.core.start();
    expect(await eventually(async () => (await call('GET', '/readyz', { token: null })).status === 200, 10_000)).toBe(
      true,
    );
  });

  it('stops cleanly on SIGTERM with exit code 0', async () => {
    await s.keyd.kill('SIGTERM');
    expect(await s.keyd.exitCode()).toBe(0);
  });
});

describe('generated admin token', () => {
  it('is written next to the database with mode 0600, and only its path is logged', async () => {
    const s = await startStack({ name: 'token' });
    try {
      const file = join(s.dir, 'admin.token');
      const { statSync, readFileSync } = await import('fs');
      expect(statSync(file).mode & 0o777).toBe(0o600);
      const token = readFileSync(file, 'utf8').trim();
      expect(token.length).toBeGreaterThanOrEqual(32);
      expect(s.keyd.logs()).toContain(file);
      expect(s.keyd.logs()).not.toContain(token);
      const ok = await fetch(`${s.keyd.httpUrl}/v1/status`, { headers: { authorization: `Bearer ${token}` } });
      expect(ok.status).toBe(200);
    } finally {
      await s.teardown();
    }
  });
});

const run = promisify(execFile);

describe('the /docs page in a browser', () => {
  it('renders the route list in headless Chromium', async () => {
    const s = await startStack({ name: 'docs' });
    const profile = mkdtempSync(join(tmpdir(), 'keyd-chromium-'));
    try {
      const { stdout } = await run(
        'chromium',
        [
          '--headless',
          '--no-sandbox',
          '--disable-gpu',
          '--disable-dev-shm-usage',
          '--disable-quic',
          '--no-first-run',
          '--disable-background-networking',
          '--disable-component-update',
          '--disable-sync',
          `--user-data-dir=${profile}`,
          '--virtual-time-budget=15000',
          '--dump-dom',
          `${s.keyd.httpUrl}/docs`,
        ],
        { timeout: 60_000, maxBuffer: 64 * 1024 * 1024 },
      );
      const paths = [...stdout.matchAll(/class="opblock-summary-path" data-path="([^"]+)"/g)].map((m) => m[1]);
      expect(paths).toEqual(
        expect.arrayContaining(['/v1/grants', '/v1/keys/{owner_id}', '/v1/keys', '/v1/reconcile', '/v1/status']),
      );
    } finally {
      rmSync(profile, { recursive: true, force: true });
      await s.teardown();
    }
  });
});
