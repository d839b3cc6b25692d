import { readFileSync } from 'fs';
import { CoreConfig } from '../support/core.harness';
import { eventually, GrantResponse } from '../support/keyd.harness';
import { allPass, startStack, Stack } from '../support/stack.harness';

const DAY = 86_400;

function fileClients(path: string): string[] {
  const config = JSON.parse(readFileSync(path, 'utf8')) as CoreConfig;
  const clients = (config.inbounds.find((i) => i.tag === 'vless-in')?.settings['clients'] ?? []) as { id: string }[];
  return clients.map((c) => c.id);
}

/** Grants from `callers` concurrent loops until `total` are sent; failures are recorded, not thrown. */
function burst(s: Stack, prefix: string, total: number, callers = 16) {
  const acknowledged: GrantResponse[] = [];
  const failed: string[] = [];
  let next = 0;
  const caller = async () => {
    while (next < total) {
      const owner = `${prefix}-${next++}`;
      try {
        acknowledged.push(await s.api.grant(owner, DAY));
      } catch {
        failed.push(owner);
      }
    }
  };
  return { acknowledged, failed, done: Promise.all(Array.from({ length: callers }, caller)) };
}

/** Every acknowledged key passes traffic, and the file holds exactly the database's active set. */
async function expectConverged(s: Stack, acknowledged: GrantResponse[]): Promise<void> {
  const uuids = acknowledged.map((a) => a.key.uuid);
  expect(await eventually(async () => allPass(await s.probe(uuids)), 15_000, 500)).toBe(true);
  const active = new Set<string>();
  let token = '';
  do {
    const page = await s.api.list({ status: 'ACTIVE', page_size: 1000, page_token: token });
    page.keys.forEach((k) => active.add(k.uuid));
    token = page.next_page_token;
  } while (token);
  for (const u of uuids) expect(active.has(u)).toBe(true);
  const matches = () => {
    const file = fileClients(s.livePath);
    return file.length === active.size && file.every((id) => active.has(id));
  };
  expect(await eventually(async () => matches(), 10_000)).toBe(true);
}

describe('fault: keyd killed mid-burst', () => {
  let s: Stack;
  beforeAll(async () => (s = await startStack({ name: 'fault-keyd' })));
  afterAll(() => s.teardown());

  it('keeps every acknowledged grant of a 500-grant burst live, and the file exact', async () => {
    const b = burst(s, 'k', 500);
    await eventually(async () => b.acknowledged.length >= 150, 30_000, 1);
    await s.keyd.kill('SIGKILL');
    await b.done;
    expect(b.acknowledged.length).toBeLessThan(500);
    await s.keyd.start();
    await expectConverged(s, b.acknowledged);
  });
});

describe('fault: core killed mid-burst', () => {
  let s: Stack;
  beforeAll(async () => (s = await startStack({ name: 'fault-core' })));
  afterAll(() => s.teardown());

  it('restarted from the persisted config, serves every acknowledged grant', async () => {
    const b = burst(s, 'c', 500);
    await eventually(async () => b.acknowledged.length >= 150, 30_000, 1);
    await s.core.kill('SIGKILL');
    await eventually(async () => b.acknowledged.length >= 300, 30_000, 5);
    await s.core.start(s.livePath);
    await b.done;
    expect(b.failed).toEqual([]);
    expect(b.acknowledged.some((a) => !a.key.provisioned)).toBe(true);
    await expectConverged(s, b.acknowledged);
  });
});

describe('fault: core paused', () => {
  let s: Stack;
  // The call deadline bounds every grant; 2 s keeps the test short.
  beforeAll(async () => (s = await startStack({ name: 'fault-pause', env: { XRAY_CALL_TIMEOUT_MS: '2000' } })));
  afterAll(() => s.teardown());

  it('bounds grants by the call deadline while the core is stopped, and converges after SIGCONT', async () => {
    const b = burst(s, 'p', 200, 8);
    await eventually(async () => b.acknowledged.length >= 20, 30_000, 1);
    s.core.pause();
    const pausedAt = Date.now();
    const during: number[] = [];
    const timed = (async () => {
      const started = Date.now();
      const r = await s.api.grant('during-pause', DAY, '');
      during.push(Date.now() - started);
      return r;
    })();
    await new Promise((r) => setTimeout(r, Math.max(0, 5000 - (Date.now() - pausedAt))));
    s.core.resume();
    const paused = await timed;
    await b.done;
    expect(b.failed).toEqual([]);
    // The grant answered while the core was stopped: committed, not provisioned.
    expect(paused.key.provisioned).toBe(false);
    expect(during[0]).toBeLessThan(5000);
    await expectConverged(s, [...b.acknowledged, paused]);
  });
});
