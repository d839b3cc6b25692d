import fc from 'fast-check';
import { XrayClient } from '@keyd/xray';
import { GrantResponse, ProtoKey } from '../support/keyd.harness';
import { startStack, Stack } from '../support/stack.harness';

type Op = { kind: 'grant'; owner: number; seconds: number } | { kind: 'revoke'; owner: number };

const op: fc.Arbitrary<Op> = fc.oneof(
  {
    weight: 3,
    arbitrary: fc.record({
      kind: fc.constant('grant' as const),
      owner: fc.integer({ min: 0, max: 2 }),
      seconds: fc.integer({ min: 60, max: 100_000 }),
    }),
  },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('revoke' as const), owner: fc.integer({ min: 0, max: 2 }) }) },
);

const endMs = (k: ProtoKey) => k.subscription_end.seconds * 1000 + Math.round(k.subscription_end.nanos / 1e6);

describe('property: concurrent grant, renew and revoke for the same owners', () => {
  let s: Stack;
  let core: XrayClient;
  let run = 0;

  beforeAll(async () => {
    s = await startStack({ name: 'interleave' });
    core = new XrayClient({ core: { apiAddr: s.core.apiAddr, flavor: 'v2ray', callTimeoutMs: 5000 } } as never);
  });
  afterAll(async () => {
    core.close();
    await s.teardown();
  });

  it('ends with one active key per owner, the end the accepted durations add up to, and the core equal to the database', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(op, { minLength: 2, maxLength: 30 }), async (ops) => {
        const prefix = `run${run++}`;
        const owner = (i: number) => `${prefix}-owner-${i}`;
        const grants: { owner: string; seconds: number; res: GrantResponse }[] = [];
        await Promise.all(
          ops.map(async (o) => {
            if (o.kind === 'grant')
              grants.push({
                owner: owner(o.owner),
                seconds: o.seconds,
                res: await s.api.grant(owner(o.owner), o.seconds),
              });
            else await s.api.revoke(owner(o.owner)).catch(() => undefined);
          }),
        );
        const keys = (await s.api.listAll()).filter((k) => k.owner_id.startsWith(`${prefix}-`));

        for (let i = 0; i < 3; i++) {
          const active = keys.filter((k) => k.owner_id === owner(i) && k.status === 'ACTIVE');
          expect(active.length).toBeLessThanOrEqual(1);
          if (!active.length) continue;
          // Every grant that answered with this key contributed its duration, once.
          const onKey = grants.filter((g) => g.res.key.uuid === active[0].uuid);
          const issued = onKey.filter((g) => g.res.action === 'ISSUED');
          expect(issued).toHaveLength(1);
          const start = endMs(issued[0].res.key) - issued[0].seconds * 1000;
          expect(endMs(active[0])).toBe(start + onKey.reduce((sum, g) => sum + g.seconds * 1000, 0));
        }

        for (const k of keys) {
          if (k.status === 'ACTIVE')
            expect(await core.addUser('vless-in', { email: k.email, uuid: k.uuid, flow: '', level: 0 })).toBe(
              'already_exists',
            );
          else expect(await core.removeUser('vless-in', k.email)).toBe('not_found');
        }
      }),
      { numRuns: 40 },
    );
  });
});
