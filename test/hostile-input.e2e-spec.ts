import { randomBytes } from 'crypto';
import * as http from 'http';
import {
  captureClientHello,
  dribble,
  openRaw,
  RawAnswer,
  RawConnection,
  sendRaw,
  statusOf,
} from './support/raw-socket.harness';
import { eventually } from './support/keyd.harness';
import { startStack, Stack } from './support/stack.harness';

const ADMIN_TOKEN = 'admin-token-for-the-hostile-suite-0123';
const DAY = 86_400;
const TOKEN_PATH = `/sub/${'A'.repeat(32)}`;
const GRPC_MAX_CONNECTIONS = 8;
/** The trusted reverse proxy of the X-Forwarded-For cases. */
const PROXY = '127.0.0.5';

const H2_PREFACE = Buffer.concat([
  Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n'),
  // An empty SETTINGS frame, as an HTTP/2 client sends right after the preface.
  Buffer.from([0, 0, 0, 4, 0, 0, 0, 0, 0]),
]);

type Case = [name: string, bytes: Buffer | string | (() => Buffer)];
const bytesOf = (c: Case) => (typeof c[1] === 'function' ? c[1]() : c[1]);
/** Filled in beforeAll: a TLS client's first bytes, captured from node's own TLS stack. */
let hello: Buffer = Buffer.alloc(0);

function httpCases(): Case[] {
  const req = (line: string, headers = 'Host: keyd\r\n', body = '') => `${line}\r\n${headers}\r\n${body}`;
  return [
    ['a target with an out-of-range port', req('GET //x:99999 HTTP/1.1')],
    ['a target with an open IPv6 bracket', req('GET //[ HTTP/1.1')],
    ['a target with a lone percent', req('GET //% HTTP/1.1')],
    ['bad percent-escapes and NUL', req('GET /%zz%00 HTTP/1.1')],
    ['bad percent-escapes on the token route', req(`GET ${TOKEN_PATH}?format=%zz%00 HTTP/1.1`)],
    ['an absolute-form target', req(`GET http://evil.example:99999${TOKEN_PATH} HTTP/1.1`)],
    ['an asterisk target', req('OPTIONS * HTTP/1.1')],
    ['CONNECT', req('CONNECT evil.example:443 HTTP/1.1')],
    ['a 200 kB URL', req(`GET /${'a'.repeat(200_000)} HTTP/1.1`)],
    ['5000 headers', req('GET /healthz HTTP/1.1', `Host: keyd\r\n${'X-A: b\r\n'.repeat(5000)}`)],
    ['a header without a colon', req('GET /healthz HTTP/1.1', 'Host: keyd\r\nno colon here\r\n')],
    ['a NUL in a header value', req('GET /healthz HTTP/1.1', 'Host: keyd\r\nX-A: a\0b\r\n')],
    ['a non-numeric Content-Length', req('POST /v1/grants HTTP/1.1', 'Host: keyd\r\nContent-Length: abc\r\n', '{}')],
    [
      'two different Content-Lengths',
      req('POST /v1/grants HTTP/1.1', 'Host: keyd\r\nContent-Length: 2\r\nContent-Length: 20\r\n', '{}'),
    ],
    [
      'Content-Length together with chunked',
      req('POST /v1/grants HTTP/1.1', 'Host: keyd\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n', '0\r\n\r\n'),
    ],
    [
      'a bad chunk size',
      req('POST /v1/grants HTTP/1.1', 'Host: keyd\r\nTransfer-Encoding: chunked\r\n', 'zz\r\nhello\r\n0\r\n\r\n'),
    ],
    [
      'a body shorter than its Content-Length',
      req(
        'POST /v1/grants HTTP/1.1',
        'Host: keyd\r\nContent-Type: application/json\r\nContent-Length: 100000\r\n',
        '{"a"',
      ),
    ],
    ['an HTTP/2 preface', H2_PREFACE],
    ['a TLS ClientHello', () => hello],
    ['random bytes', randomBytes(4096)],
    ['a bare newline', '\r\n\r\n'],
  ];
}

function grpcCases(): Case[] {
  return [
    ['an HTTP/1 request', 'GET / HTTP/1.1\r\nHost: keyd\r\n\r\n'],
    ['an HTTP/1 request with a bad target', 'GET //x:99999 HTTP/1.1\r\nHost: keyd\r\n\r\n'],
    ['random bytes', randomBytes(4096)],
    ['a TLS ClientHello', () => hello],
    // A HEADERS frame on stream 1 whose HPACK block is garbage.
    [
      'an HTTP/2 preface and a malformed HEADERS frame',
      Buffer.concat([H2_PREFACE, Buffer.from([0, 0, 4, 1, 5, 0, 0, 0, 1, 0xff, 0xff, 0xff, 0xff])]),
    ],
    ['an HTTP/2 preface and random frames', Buffer.concat([H2_PREFACE, randomBytes(2048)])],
  ];
}

/** GET on the subscription listener from a chosen source address. */
function subGet(
  s: Stack,
  path: string,
  opts: { from: string; forwardedFor?: string },
): Promise<{ status: number; body: string }> {
  const url = new URL(s.keyd.subUrl);
  return new Promise((resolve, reject) => {
    const req = http.get(
      {
        host: url.hostname,
        port: url.port,
        path,
        localAddress: opts.from,
        agent: false,
        headers: opts.forwardedFor ? { 'X-Forwarded-For': opts.forwardedFor } : {},
      },
      (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => (body += c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      },
    );
    req.on('error', reject);
  });
}

describe('hostile bytes on every listener', () => {
  let s: Stack;
  let served = 0;
  let listeners: Record<'subscription' | 'admin HTTP', { host: string; port: number }>;

  beforeAll(async () => {
    hello = await captureClientHello();
    s = await startStack({
      name: 'hostile',
      env: {
        KEYD_ADMIN_TOKEN: ADMIN_TOKEN,
        KEYD_SUB_TRUSTED_PROXIES: PROXY,
        KEYD_SUB_RATE_BURST: '3',
        KEYD_SUB_RATE_PER_MINUTE: '1',
        // Small enough that 300 connections from one address would fill it without the per-client cap.
        KEYD_SUB_MAX_CONNECTIONS: '200',
        KEYD_SUB_MAX_CONNECTIONS_PER_CLIENT: '16',
        KEYD_GRPC_MAX_CONNECTIONS: String(GRPC_MAX_CONNECTIONS),
      },
    });
    const at = (u: string) => ({ host: new URL(u).hostname, port: Number(new URL(u).port) });
    listeners = { subscription: at(s.keyd.subUrl), 'admin HTTP': at(s.keyd.httpUrl) };
  });
  afterAll(() => s.teardown());

  /** The daemon is still up: /healthz answers and a grant is answered. */
  async function stillServing(): Promise<void> {
    expect(s.keyd.pid).toBeDefined();
    expect((await fetch(`${s.keyd.httpUrl}/healthz`)).status).toBe(200);
    const granted = await s.api.grant(`after-case-${++served}`, DAY);
    expect(granted.action).toBe('ISSUED');
  }

  const refused = (a: RawAnswer) => {
    const status = statusOf(a);
    // Either a 4xx, or the connection closed (or left waiting) without an answer; never a 5xx.
    if (status !== null) expect(status >= 400 && status < 500 ? 'a 4xx' : `status ${status}`).toBe('a 4xx');
    else expect(a.bytes.subarray(0, 5).toString('latin1')).not.toBe('HTTP/');
  };

  for (const listener of ['subscription', 'admin HTTP'] as const) {
    describe(`the ${listener} listener`, () => {
      it.each(httpCases())('%s', async (...c: Case) => {
        const { host, port } = listeners[listener];
        const answer = await sendRaw(host, port, bytesOf(c));
        try {
          refused(answer);
        } catch (e) {
          throw new Error(`${(e as Error).message}\n${answer.bytes.subarray(0, 200).toString('latin1')}`);
        }
        await stillServing();
      });
    });
  }

  describe('the gRPC listener', () => {
    it.each(grpcCases())('%s', async (...c: Case) => {
      const url = new URL(`http://${s.keyd.grpcAddr}`);
      const answer = await sendRaw(url.hostname, Number(url.port), bytesOf(c));
      // grpc-js answers HTTP/2 framing only; it never sends an HTTP/1 response.
      expect(statusOf(answer)).toBeNull();
      await stillServing();
    });
  });

  it('answers a subscription request while 300 clients dribble their headers, and cuts the dribblers off', async () => {
    const key = (await s.api.grant('normal-subscriber', DAY)).key;
    const path = new URL(key.subscription_url).pathname;
    const { host, port } = listeners.subscription;
    const slow = Array.from({ length: 300 }, () => dribble(host, port, { intervalMs: 500, localAddress: '127.0.0.3' }));
    try {
      await new Promise((r) => setTimeout(r, 1000));
      const answer = await subGet(s, path, { from: '127.0.0.2' });
      expect(answer.status).toBe(200);
      expect(Buffer.from(answer.body, 'base64').toString()).toContain(key.uuid);
      // The dribblers were still holding connections while the request was answered.
      expect(slow.filter((d) => !d.socket.destroyed).length).toBeGreaterThan(0);
      // Each one is cut by the headers timeout, well within 30 s of connecting.
      await eventually(async () => slow.every((d) => d.socket.destroyed), 30_000);
    } finally {
      slow.forEach((d) => d.stop());
    }
    await stillServing();
  });

  it('cuts a client that dribbles its headers to the admin listener', async () => {
    const { host, port } = listeners['admin HTTP'];
    const slow = dribble(host, port, { intervalMs: 500 });
    try {
      await eventually(async () => slow.socket.destroyed, 30_000);
    } finally {
      slow.stop();
    }
  });

  describe('the gRPC listener against slow and many clients', () => {
    const grpcAt = () => {
      const url = new URL(`http://${s.keyd.grpcAddr}`);
      return { host: url.hostname, port: Number(url.port) };
    };

    it('cuts a client that dribbles an HTTP/2 request, well within 30 s of connecting', async () => {
      const { host, port } = grpcAt();
      // The preface, then a HEADERS frame announcing 4000 bytes of header block that arrive one a second.
      const head = Buffer.concat([H2_PREFACE, Buffer.from([0, 0x0f, 0xa0, 1, 4, 0, 0, 0, 1]), randomBytes(4000)]);
      const slow = dribble(host, port, { intervalMs: 250, head });
      try {
        await eventually(async () => slow.socket.destroyed, 30_000);
      } finally {
        slow.stop();
      }
      await stillServing();
    });

    it(`holds at most KEYD_GRPC_MAX_CONNECTIONS (${GRPC_MAX_CONNECTIONS}) connections, and serves again once they go`, async () => {
      const { host, port } = grpcAt();
      // Opened one after another, so that the cap is reached in a known order.
      const held: RawConnection[] = [];
      for (let i = 0; i < GRPC_MAX_CONNECTIONS + 4; i++) held.push(await openRaw(host, port, H2_PREFACE));
      try {
        await new Promise((r) => setTimeout(r, 1000));
        const open = held.filter((c) => !c.socket.destroyed).length;
        expect(open).toBeLessThanOrEqual(GRPC_MAX_CONNECTIONS);
        expect(held.length - open).toBeGreaterThanOrEqual(4);
      } finally {
        held.forEach((c) => c.socket.destroy());
      }
      await stillServing();
    });
  });

  describe('behind a trusted reverse proxy', () => {
    const limited = async (from: string, forwardedFor?: string) =>
      (await subGet(s, `/sub/${'B'.repeat(32)}`, { from, forwardedFor })).status === 429;

    it('limits each forwarded client on its own when the request comes from the trusted proxy', async () => {
      for (let i = 0; i < 3; i++) expect(await limited(PROXY, '198.51.100.1')).toBe(false);
      expect(await limited(PROXY, '198.51.100.1')).toBe(true);
      // Another client behind the same proxy has its own budget.
      expect(await limited(PROXY, '198.51.100.2')).toBe(false);
      // A client that prepends a forged address is still known by the address the proxy appended.
      expect(await limited(PROXY, '203.0.113.77, 198.51.100.1')).toBe(true);
    });

    it('ignores X-Forwarded-For from any other peer', async () => {
      for (let i = 0; i < 3; i++) expect(await limited('127.0.0.6', `198.51.100.${10 + i}`)).toBe(false);
      expect(await limited('127.0.0.6', '198.51.100.99')).toBe(true);
    });
  });
});
