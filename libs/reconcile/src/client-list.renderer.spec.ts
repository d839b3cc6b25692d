import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ClientFormat, KeyRepository, NodeRepository, PrintedClients, StoreDatabase } from '@keyd/store';
import { digestOf, renderConfig } from './client-list.renderer';
import { ForeignFilter, readConfigLayout } from './config-layout.reader';

const TAG = 'vless-in';
const NOW = new Date('2030-01-01T00:00:00Z');

interface ActiveClient {
  uuid: string;
  email: string;
  flow: string;
}
const LEVEL = 0;

/** UUIDs of keys keyd holds in some status other than active: never foreign, never written. */
const KNOWN_INACTIVE = new Set(['00000000-0000-4000-8000-00000000dead']);

/**
 * The writer's renderer before it streamed: parse the whole file, replace the
 * list with the active keys followed by the clients no key accounts for.
 */
function previousRender(current: string, keys: ActiveClient[], everKeys = keys): string {
  const parsed = JSON.parse(current) as { inbounds: { tag?: string; settings?: { clients?: unknown[] } }[] };
  const inbound = parsed.inbounds.find((i) => i.tag === TAG);
  if (!inbound) throw new Error('no inbound');
  inbound.settings ??= {};
  const idOf = (c: unknown) => {
    const id = (c as { id?: unknown } | null)?.id;
    return typeof id === 'string' ? id.toLowerCase() : '';
  };
  const known = new Set([...KNOWN_INACTIVE, ...everKeys.map((k) => k.uuid)]);
  const foreign = (inbound.settings.clients ?? []).filter((c) => idOf(c) !== '' && !known.has(idOf(c)));
  inbound.settings.clients = [
    ...keys.map((k) => ({ id: k.uuid, email: k.email, flow: k.flow, level: LEVEL })),
    ...foreign,
  ];
  return `${JSON.stringify(parsed, null, 2)}\n`;
}

/** What the writer asks of the database: which of these clients are keys of keyd's, in any status. */
const foreignAmong =
  (keys: ActiveClient[]): ForeignFilter =>
  (clients) => {
    const known = new Set([...KNOWN_INACTIVE, ...keys.map((k) => k.uuid)]);
    return Promise.resolve(clients.filter((c) => !known.has(c.id.toLowerCase())));
  };

const keysOf = (n: number): ActiveClient[] =>
  Array.from({ length: n }, (_, i) => ({
    uuid: `00000000-0000-4000-8000-${String(i).padStart(12, '0')}`,
    // Quotes, backslashes, unicode and the stats separator's neighbours: escaping must match JSON.stringify's.
    email: i % 3 === 0 ? `owner "${i}" \\ ünï ${String.fromCharCode(1)}.x` : `owner${i}.00000000`,
    flow: i % 2 ? 'xtls-rprx-vision' : '',
  }));

async function text(chunks: AsyncIterable<string>): Promise<string> {
  let out = '';
  for await (const c of chunks) out += c;
  return out;
}

const operatorFiles: Record<string, unknown> = {
  'a list of clients, and other inbounds with theirs': {
    log: { loglevel: 'warning' },
    inbounds: [
      { tag: 'api', protocol: 'dokodemo-door', settings: { address: '127.0.0.1', clients: [{ id: 'x' }] } },
      {
        port: 443,
        protocol: 'vless',
        settings: {
          clients: [
            { id: '00000000-0000-4000-8000-00000000DEAD', email: 'revoked, known to keyd' },
            { id: 'operator-1', email: 'foreign', flow: '', level: 1, extra: { nested: ['a', { b: 'c]}' }] } },
            { id: '00000000-0000-4000-8000-000000000001', email: 'an active key, rewritten from the database' },
            'not a client',
            { email: 'no id' },
            { id: '', email: 'empty id' },
            { id: 'operator-2', email: 'foreign "two"' },
          ],
          decryption: 'none',
          fallbacks: [{ dest: 80 }],
        },
        streamSettings: { network: 'tcp', note: 'brackets ] } [ { and "quotes" in strings' },
        tag: TAG,
      },
      { tag: 'other', settings: { clients: [{ id: 'kept', email: 'other@x' }] } },
    ],
    routing: { rules: [{ inboundTag: ['api'], outboundTag: 'api' }] },
  },
  'no client list yet': { inbounds: [{ tag: TAG, protocol: 'vless', settings: { decryption: 'none' } }] },
  'no settings at all': { inbounds: [{ tag: TAG, protocol: 'vless' }], outbounds: [] },
  'an empty list and escaped keys': { 'odd \u00e9 "key"': 1, inbounds: [{ tag: TAG, settings: { clients: [] } }] },
};

/** The store prints the pages the renderer joins, so the keys live in a real database here. */
describe('renderConfig', () => {
  let dir: string;
  let db: StoreDatabase;
  let repo: KeyRepository;
  let nodeId: number;
  const ids = new Map<string, number>();

  beforeEach(async () => {
    dir = mkdtempSync(join(tmpdir(), 'keyd-render-'));
    db = await StoreDatabase.open(join(dir, 'keyd.sqlite'));
    repo = new KeyRepository(db);
    nodeId = (await new NodeRepository(db).seed({ name: 'n', apiAddr: '127.0.0.1:1', flavor: 'v2ray' }, NOW)).id;
    ids.clear();
  });
  afterEach(async () => {
    await db.close();
    rmSync(dir, { recursive: true, force: true });
  });

  /** Makes exactly these keys the active ones, in this order; the others are revoked. */
  const activate = (keys: ActiveClient[]) =>
    repo.write(async (tx) => {
      const wanted = new Set(keys.map((k) => k.uuid));
      for (const [uuid, id] of ids)
        if (!wanted.has(uuid)) {
          await tx.setStatus(id, 'REVOKED', NOW);
          ids.delete(uuid);
        }
      for (const k of keys) {
        if (ids.has(k.uuid)) continue;
        const key = await tx.insertKey(
          {
            ownerId: k.uuid,
            uuid: k.uuid,
            email: k.email,
            nodeId,
            inboundTag: TAG,
            flow: k.flow,
            subscriptionEnd: new Date(NOW.getTime() + 86_400_000),
            dataLimitBytes: 0,
            limitReset: 'none',
            deviceLimit: 0,
            subscriptionToken: null,
          },
          NOW,
        );
        ids.set(k.uuid, key.id);
      }
    });

  /** The store's snapshot of these keys, printed size keys a page. */
  const paged = (keys: ActiveClient[], size: number) => ({
    async *printed(format: ClientFormat): AsyncGenerator<PrintedClients> {
      await activate(keys);
      yield* await repo.readActive(async (s) => {
        const out: PrintedClients[] = [];
        for await (const page of s.printed(format, size)) out.push(page);
        return out;
      });
    },
  });

  const fileWith = (content: string) => {
    const path = join(dir, 'config.json');
    writeFileSync(path, content);
    return path;
  };

  for (const [name, file] of Object.entries(operatorFiles)) {
    for (const n of [0, 1, 7]) {
      it(`prints what the previous renderer printed: ${name}, ${n} keys`, async () => {
        // Compact and pretty input alike: the file is printed back the way JSON.stringify prints it.
        for (const content of [JSON.stringify(file), `${JSON.stringify(file, null, 4)}\n`]) {
          const keys = keysOf(n);
          const layout = await readConfigLayout(fileWith(content), TAG, foreignAmong(keys));
          const expected = previousRender(content, keys);
          for (const size of [1, 3, 1000]) {
            expect(await text(renderConfig(layout, paged(keys, size), LEVEL))).toBe(expected);
          }
          expect(await digestOf(renderConfig(layout, paged(keys, 2), LEVEL))).not.toBe(layout.digest);
        }
      });
    }
  }

  it('reads a file larger than its read chunk, with strings cut across chunks', async () => {
    const keys = keysOf(12_000);
    const base = operatorFiles['a list of clients, and other inbounds with theirs'];
    const big = previousRender(JSON.stringify(base), keys);
    expect(big.length).toBeGreaterThan(2 * 1024 * 1024);
    const layout = await readConfigLayout(fileWith(big), TAG, foreignAmong(keys));
    expect(layout.foreign.map((c) => c.id)).toEqual(['operator-1', 'operator-2']);
    expect(await digestOf(renderConfig(layout, paged(keys, 2000), LEVEL))).toBe(layout.digest);
    expect(await text(renderConfig(layout, paged(keys.slice(5), 2000), LEVEL))).toBe(
      previousRender(big, keys.slice(5), keys),
    );
  });

  it('finds a file it printed itself unchanged by digest', async () => {
    const keys = keysOf(5);
    const path = fileWith(previousRender(JSON.stringify(operatorFiles['no settings at all']), keys));
    const layout = await readConfigLayout(path, TAG, foreignAmong(keys));
    expect(await digestOf(renderConfig(layout, paged(keys, 2), LEVEL))).toBe(layout.digest);
    expect(await digestOf(renderConfig(layout, paged(keys.slice(1), 2), LEVEL))).not.toBe(layout.digest);
  });

  it('keeps the users spelling of a file that uses it, and never writes both', async () => {
    const file = { inbounds: [{ tag: TAG, settings: { users: [{ id: 'old' }], decryption: 'none' } }] };
    const layout = await readConfigLayout(fileWith(JSON.stringify(file)), TAG, foreignAmong([]));
    const printed = JSON.parse(await text(renderConfig(layout, paged(keysOf(2), 1), LEVEL))) as typeof file;
    expect(layout.field).toBe('users');
    expect(Object.keys(printed.inbounds[0].settings)).toEqual(['users', 'decryption']);
    // The operator's own user, which no key accounts for, stays after keyd's.
    expect(printed.inbounds[0].settings.users).toEqual([
      ...keysOf(2).map((k) => ({ id: k.uuid, email: k.email, flow: k.flow, level: LEVEL })),
      { id: 'old' },
    ]);
  });

  it('writes clients where the file has neither spelling', async () => {
    const layout = await readConfigLayout(
      fileWith(JSON.stringify(operatorFiles['no client list yet'])),
      TAG,
      foreignAmong([]),
    );
    const printed = JSON.parse(await text(renderConfig(layout, paged(keysOf(1), 1), LEVEL))) as {
      inbounds: { settings: Record<string, unknown> }[];
    };
    expect(Object.keys(printed.inbounds[0].settings)).toEqual(['decryption', 'clients']);
  });

  it('refuses an inbound with both spellings rather than guess which one the core reads', async () => {
    const file = { inbounds: [{ tag: TAG, settings: { clients: [], users: [] } }] };
    await expect(readConfigLayout(fileWith(JSON.stringify(file)), TAG, foreignAmong([]))).rejects.toThrow(
      /more than one client list \(clients, users\)/,
    );
  });

  it('refuses a file that is not JSON, or lacks the inbound, as before', async () => {
    const valid = JSON.stringify(operatorFiles['a list of clients, and other inbounds with theirs']);
    for (const bad of ['', '{"inbounds": [', valid.slice(0, -5), `${valid} trailing`, '{"inbounds": [}]}']) {
      await expect(readConfigLayout(fileWith(bad), TAG, foreignAmong([]))).rejects.toThrow(/not valid JSON/);
    }
    await expect(readConfigLayout(fileWith('{"inbounds": [{"tag": "x"}]}'), TAG, foreignAmong([]))).rejects.toThrow(
      'no inbound tagged "vless-in" in the file',
    );
  });
});
