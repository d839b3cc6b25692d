import { Client, credentials, ServiceError, status } from '@grpc/grpc-js';
import { coreFlavor } from './core.flavor';
import { toCoreError } from './core-error.mapper';
import { coreProtos } from './core-protos.loader';
import { XrayClient } from './xray.client';
import {
  CoreCallError,
  CoreDeadlineError,
  CoreInboundNotFoundError,
  CoreInvalidUserError,
  CoreUnavailableError,
  CoreUnsupportedError,
} from './xray.errors';
import { CoreCallListener, CoreUser } from './xray.types';
import { FakeCore, FakeFlavor, startFakeCore } from './testing/fake-core.server';

const TAG = 'vless-in';
const FLOW = 'xtls-rprx-vision';
const UUID_A = '0b8a4ac3-5c5e-4f4e-9d3b-6f0c2a1e7d11';
const UUID_B = 'a6f1f3c2-1d2e-4b5a-8c9d-0e1f2a3b4c5d';

const alice: CoreUser = { email: 'alice@example.com', uuid: UUID_A, flow: FLOW, level: 0 };
const bob: CoreUser = { email: 'bob@example.com', uuid: UUID_B, flow: FLOW, level: 0 };

function clientFor(
  fake: FakeCore | { addr: string },
  flavor: FakeFlavor,
  callTimeoutMs = 2000,
  listener?: CoreCallListener,
) {
  const client = new XrayClient({ core: { apiAddr: fake.addr, flavor, callTimeoutMs } } as never);
  if (listener) client.addCallListener(listener);
  return client;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

type TypedMessage = { type: string; value: Buffer };
type AlterInbound = (req: { tag: string; operation: TypedMessage }, cb: (err: ServiceError | null) => void) => void;

/** Sends AlterInbound with hand-made type strings, which XrayClient never would. */
async function rawAlterInbound(
  addr: string,
  flavor: FakeFlavor,
  tag: string,
  operation: TypedMessage,
): Promise<ServiceError | null> {
  const client = new (coreProtos(coreFlavor(flavor)).handlerClient)(
    addr,
    credentials.createInsecure(),
  ) as unknown as Client & {
    AlterInbound: AlterInbound;
  };
  try {
    return await new Promise((resolve) => client.AlterInbound({ tag, operation }, resolve));
  } finally {
    client.close();
  }
}

// Written out here, not taken from core.flavor.ts, so the client's own mapping is under test.
describe.each([
  { flavor: 'xray' as const, pkg: 'xray.', lists: true },
  { flavor: 'v2ray' as const, pkg: 'v2ray.core.', lists: false },
])('XrayClient against a fake $flavor core', ({ flavor, pkg, lists }) => {
  let fake: FakeCore;
  let client: XrayClient;
  let onCoreCall: jest.Mock<void, Parameters<CoreCallListener['onCoreCall']>>;
  const extraClients: XrayClient[] = [];

  beforeEach(async () => {
    fake = await startFakeCore({ flavor });
    onCoreCall = jest.fn();
    client = clientFor(fake, flavor, 2000, { onCoreCall });
  });

  /**
   * For answers of several MiB: the fake core encodes them in this same
   * process, which on a loaded machine holds the event loop past 2 s.
   */
  const patient = () => {
    const c = clientFor(fake, flavor, 30_000);
    extraClients.push(c);
    return c;
  };

  afterEach(async () => {
    client.close();
    for (const c of extraClients.splice(0)) c.close();
    await fake.stop();
  });

  describe('addUser', () => {
    it('adds the user with the configured flow and its email', async () => {
      await expect(client.addUser(TAG, alice)).resolves.toBe('added');
      expect(fake.users(TAG)).toEqual([{ email: alice.email, uuid: alice.uuid, flow: FLOW, level: 0 }]);
    });

    it('sets the flow and a non-empty email on every account', async () => {
      await client.addUser(TAG, alice);
      await client.addUser(TAG, { ...bob, level: 3 });
      const users = fake.users(TAG);
      expect(users).toHaveLength(2);
      for (const u of users) {
        expect(u.flow).toBe(FLOW);
        expect(u.email).not.toBe('');
      }
      expect(users.find((u) => u.email === bob.email)?.level).toBe(3);
    });

    it('answers already_exists for a second add of the same email', async () => {
      await client.addUser(TAG, alice);
      await expect(client.addUser(TAG, alice)).resolves.toBe('already_exists');
      expect(fake.users(TAG)).toHaveLength(1);
    });

    it('answers already_exists when only the email case differs', async () => {
      await client.addUser(TAG, alice);
      await expect(client.addUser(TAG, { ...alice, email: 'ALICE@Example.COM' })).resolves.toBe('already_exists');
      expect(fake.users(TAG).map((u) => u.email)).toEqual([alice.email]);
    });

    it('throws CoreInboundNotFoundError for an unknown inbound tag', async () => {
      await expect(client.addUser('no-such-inbound', alice)).rejects.toBeInstanceOf(CoreInboundNotFoundError);
      expect(fake.users(TAG)).toEqual([]);
    });

    it('rejects an invalid UUID without calling the core', async () => {
      const before = fake.calls.length;
      await expect(client.addUser(TAG, { ...alice, uuid: 'not-a-uuid' })).rejects.toBeInstanceOf(CoreInvalidUserError);
      expect(fake.calls).toHaveLength(before);
    });

    it('rejects an empty email without calling the core', async () => {
      await expect(client.addUser(TAG, { ...alice, email: '' })).rejects.toBeInstanceOf(CoreInvalidUserError);
      expect(fake.calls).toEqual([]);
    });

    it("maps the core's bad-UUID text to CoreInvalidUserError", async () => {
      fake.failNext(
        status.UNKNOWN,
        `v2ray.com/core/app/proxyman/command: failed to parse user > v2ray.com/core/proxy/vless: failed to parse ID > invalid UUID: ${UUID_A}x`,
      );
      await expect(client.addUser(TAG, alice)).rejects.toBeInstanceOf(CoreInvalidUserError);
      expect(fake.users(TAG)).toEqual([]);
    });

    it('surfaces any other code-2 failure as CoreCallError', async () => {
      fake.failNext(status.UNKNOWN, 'v2ray.com/core/app/proxyman/command: proxy is not a UserManager');
      const err = await client.addUser(TAG, alice).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(CoreCallError);
      expect((err as CoreCallError).message).toContain('proxy is not a UserManager');
      expect((err as CoreCallError).grpcCode).toBe(status.UNKNOWN);
    });

    it('sends type strings of its flavor, without a leading dot', async () => {
      await client.addUser(TAG, alice);
      await client.removeUser(TAG, alice.email);
      const alters = fake.calls.filter((c) => c.method === 'AlterInbound');
      expect(alters).toEqual([
        {
          method: 'AlterInbound',
          type: `${pkg}app.proxyman.command.AddUserOperation`,
          accountType: `${pkg}proxy.vless.Account`,
        },
        { method: 'AlterInbound', type: `${pkg}app.proxyman.command.RemoveUserOperation` },
      ]);
      for (const c of alters) {
        expect(c.type?.startsWith('.')).toBe(false);
        expect(c.accountType?.startsWith('.') ?? false).toBe(false);
      }
    });
  });

  describe('removeUser', () => {
    it('answers removed and the core no longer holds the user', async () => {
      await client.addUser(TAG, alice);
      await client.addUser(TAG, bob);
      await expect(client.removeUser(TAG, alice.email)).resolves.toBe('removed');
      expect(fake.users(TAG).map((u) => u.email)).toEqual([bob.email]);
    });

    it('removes regardless of email case, as the core does', async () => {
      await client.addUser(TAG, alice);
      await expect(client.removeUser(TAG, alice.email.toUpperCase())).resolves.toBe('removed');
      expect(fake.users(TAG)).toEqual([]);
    });

    it('answers not_found for an email the core does not hold', async () => {
      await expect(client.removeUser(TAG, 'nobody@example.com')).resolves.toBe('not_found');
    });

    it('throws CoreInboundNotFoundError for an unknown inbound tag, not not_found', async () => {
      await client.addUser(TAG, alice);
      await expect(client.removeUser('no-such-inbound', alice.email)).rejects.toBeInstanceOf(CoreInboundNotFoundError);
      expect(fake.users(TAG)).toHaveLength(1);
    });

    it('rejects an empty email without calling the core', async () => {
      await expect(client.removeUser(TAG, '')).rejects.toBeInstanceOf(CoreInvalidUserError);
      expect(fake.calls).toEqual([]);
    });

    it('does not swallow another code-2 failure as not_found', async () => {
      fake.failNext(status.UNKNOWN, 'v2ray.com/core/app/proxyman/command: proxy is not a UserManager');
      await expect(client.removeUser(TAG, alice.email)).rejects.toBeInstanceOf(CoreCallError);
    });
  });

  describe('transport failures', () => {
    it('throws CoreUnavailableError when nothing listens at the address', async () => {
      const gone = await startFakeCore({ flavor });
      await gone.stop();
      const c = clientFor(gone, flavor, 2000, { onCoreCall });
      extraClients.push(c);
      const err = await c.sysStats().catch((e: unknown) => e);
      expect(err).toBeInstanceOf(CoreUnavailableError);
      expect((err as CoreUnavailableError).transient).toBe(true);
      await expect(c.addUser(TAG, alice)).rejects.toBeInstanceOf(CoreUnavailableError);
      expect(onCoreCall).toHaveBeenCalledWith('sys_stats', 'unavailable', expect.any(Number));
    });

    it('throws CoreDeadlineError for a call slower than callTimeoutMs, and a retry is idempotent', async () => {
      const c = clientFor(fake, flavor, 150);
      extraClients.push(c);
      fake.delayNext(600);
      const err = await c.addUser(TAG, alice).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(CoreDeadlineError);
      expect((err as CoreDeadlineError).transient).toBe(true);
      // The slow core still applied the add, as a real one may: the retry must count as success.
      await sleep(700);
      expect(fake.users(TAG)).toHaveLength(1);
      await expect(c.addUser(TAG, alice)).resolves.toBe('already_exists');
    });

    it('cannot reach a core of the other flavor: its services do not exist there', async () => {
      const other = clientFor(fake, flavor === 'xray' ? 'v2ray' : 'xray');
      extraClients.push(other);
      await expect(other.addUser(TAG, alice)).rejects.toBeInstanceOf(CoreUnsupportedError);
      await expect(other.sysStats()).rejects.toBeInstanceOf(CoreUnsupportedError);
      expect(fake.users(TAG)).toEqual([]);
      expect(fake.calls).toEqual([]);
    });
  });

  describe('sysStats', () => {
    it("returns the core's uptime, and 0 after a restart", async () => {
      fake.setUptime(4242);
      await expect(client.sysStats()).resolves.toEqual({ uptimeSeconds: 4242 });
      fake.restart();
      await expect(client.sysStats()).resolves.toEqual({ uptimeSeconds: 0 });
    });
  });

  describe('listUsers', () => {
    it(
      lists ? 'returns the inbound users with uuid and flow' : 'returns null: the core cannot list users',
      async () => {
        await client.addUser(TAG, alice);
        await client.addUser(TAG, { ...bob, level: 2 });
        const users = await client.listUsers(TAG);
        if (!lists) {
          expect(users).toBeNull();
          return;
        }
        expect(users).toEqual(
          expect.arrayContaining([
            { email: alice.email, uuid: alice.uuid, flow: FLOW, level: 0 },
            { email: bob.email, uuid: bob.uuid, flow: FLOW, level: 2 },
          ]),
        );
        expect(users).toHaveLength(2);
      },
    );

    it('returns null on a core without the listing methods', async () => {
      const old = await startFakeCore({ flavor, listUsers: false });
      const c = clientFor(old, flavor);
      try {
        await expect(c.listUsers(TAG)).resolves.toBeNull();
      } finally {
        c.close();
        await old.stop();
      }
    });

    if (lists) {
      it('reads a listing larger than 4 MiB, the size of 40k users', async () => {
        const users = Array.from({ length: 40_000 }, (_, i) => ({
          email: `owner-${i}.0b8a4ac3-5c5e-4f4e-9d3b-${String(i).padStart(12, '0')}`,
          uuid: `0b8a4ac3-5c5e-4f4e-9d3b-${String(i).padStart(12, '0')}`,
          flow: FLOW,
          level: 0,
        }));
        fake.seedUsers(users);
        const listed = await patient().listUsers(TAG);
        expect(listed).toHaveLength(users.length);
        expect(listed?.[39_999]).toEqual(users[39_999]);
      });

      it('throws CoreInboundNotFoundError for an unknown tag', async () => {
        await expect(client.listUsers('no-such-inbound')).rejects.toBeInstanceOf(CoreInboundNotFoundError);
      });
    }
  });

  describe('queryStats', () => {
    it('reads a poll larger than 4 MiB, the counters of 30k users', async () => {
      const email = (i: number) => `owner-${i}.0b8a4ac3-5c5e-4f4e-9d3b-${String(i).padStart(12, '0')}`;
      for (let i = 0; i < 30_000; i++) {
        fake.setStat(`user>>>${email(i)}>>>traffic>>>uplink`, i);
        fake.setStat(`user>>>${email(i)}>>>traffic>>>downlink`, 2 * i);
      }
      const stats = await patient().queryStats('user>>>');
      expect(stats).toHaveLength(60_000);
      expect(stats).toContainEqual({ name: `user>>>${email(29_999)}>>>traffic>>>downlink`, value: 59_998 });
    });

    it('returns the counters whose name contains the pattern', async () => {
      fake.setStat(`user>>>${alice.email}>>>traffic>>>uplink`, 1000);
      fake.setStat(`user>>>${alice.email}>>>traffic>>>downlink`, 5000);
      fake.setStat(`user>>>${bob.email}>>>traffic>>>uplink`, 7);
      const stats = await client.queryStats(`user>>>${alice.email}>>>`);
      expect(stats).toEqual(
        expect.arrayContaining([
          { name: `user>>>${alice.email}>>>traffic>>>uplink`, value: 1000 },
          { name: `user>>>${alice.email}>>>traffic>>>downlink`, value: 5000 },
        ]),
      );
      expect(stats).toHaveLength(2);
      // Read without reset: a second read sees the same values.
      await expect(client.queryStats(`user>>>${alice.email}>>>traffic>>>uplink`)).resolves.toEqual([
        { name: `user>>>${alice.email}>>>traffic>>>uplink`, value: 1000 },
      ]);
    });
  });

  describe('usersTraffic', () => {
    it('returns null on a core without GetUsersStats', async () => {
      await expect(client.usersTraffic()).resolves.toBeNull();
    });

    if (lists) {
      it('returns the counters of users with a connection open, read without reset (Xray >= 26.4.13)', async () => {
        const recent = await startFakeCore({ flavor, usersStats: true });
        const c = clientFor(recent, flavor);
        try {
          recent.setStat(`user>>>${alice.email}>>>traffic>>>uplink`, 1000);
          recent.setStat(`user>>>${alice.email}>>>traffic>>>downlink`, 5000);
          recent.setStat(`user>>>${bob.email}>>>traffic>>>uplink`, 7);
          recent.setOnline(alice.email, true);
          await expect(c.usersTraffic()).resolves.toEqual([{ email: alice.email, uplink: 1000, downlink: 5000 }]);
          recent.setOnline(bob.email, true);
          const both = await c.usersTraffic();
          expect(both).toHaveLength(2);
          expect(both).toContainEqual({ email: alice.email, uplink: 1000, downlink: 5000 });
          // A direction without a counter yet reads 0, as the core answers it.
          expect(both).toContainEqual({ email: bob.email, uplink: 7, downlink: 0 });
        } finally {
          c.close();
          await recent.stop();
        }
      });
    }
  });

  describe('CoreCallListener', () => {
    it('receives the operation and result of every call', async () => {
      await client.addUser(TAG, alice);
      await client.addUser(TAG, alice);
      await client.removeUser(TAG, 'nobody@example.com');
      await client.removeUser(TAG, alice.email);
      await client.addUser('no-such-inbound', alice).catch(() => undefined);
      await client.sysStats();
      expect(onCoreCall.mock.calls.map(([op, result]) => [op, result])).toEqual([
        ['add_user', 'ok'],
        ['add_user', 'already_exists'],
        ['remove_user', 'not_found'],
        ['remove_user', 'ok'],
        ['add_user', 'inbound_not_found'],
        ['sys_stats', 'ok'],
      ]);
      for (const [, , seconds] of onCoreCall.mock.calls) expect(seconds).toBeGreaterThanOrEqual(0);
    });

    it('is not called for a request rejected client-side', async () => {
      await client.addUser(TAG, { ...alice, uuid: 'nope' }).catch(() => undefined);
      expect(onCoreCall).not.toHaveBeenCalled();
    });
  });

  describe('the fake core itself', () => {
    const protos = coreProtos(coreFlavor(flavor));
    const other = flavor === 'xray' ? 'v2ray.core.' : 'xray.';
    const addOp = (
      account: Record<string, unknown>,
      accountType = `${pkg}proxy.vless.Account`,
      email = alice.email,
    ) => {
      const packed = protos.pack('proxy.vless.Account', account);
      return protos.pack('app.proxyman.command.AddUserOperation', {
        user: { email, level: 0, account: { ...packed, type: accountType } },
      });
    };

    it.each([
      ['of the other flavor', `${other}app.proxyman.command.AddUserOperation`],
      ['with a leading dot', `.${pkg}app.proxyman.command.AddUserOperation`],
    ])('rejects an operation type %s as unknown', async (_name, type) => {
      const err = await rawAlterInbound(fake.addr, flavor, TAG, { ...addOp({ id: UUID_A, flow: FLOW }), type });
      expect(err?.code).toBe(status.UNKNOWN);
      expect(err?.details).toContain(`unknown type: ${type}`);
      expect(fake.users(TAG)).toEqual([]);
    });

    it('rejects an account type of the other flavor as unknown', async () => {
      const type = `${other}proxy.vless.Account`;
      const err = await rawAlterInbound(fake.addr, flavor, TAG, addOp({ id: UUID_A, flow: FLOW }, type));
      expect(err?.details).toContain(`unknown type: ${type}`);
      expect(fake.users(TAG)).toEqual([]);
    });

    it("answers a bad UUID with the core's text, which maps to CoreInvalidUserError", async () => {
      const err = await rawAlterInbound(fake.addr, flavor, TAG, addOp({ id: 'zzz', flow: FLOW }));
      expect(err?.details).toMatch(/failed to parse user > .*failed to parse ID > invalid UUID: zzz$/);
      expect(toCoreError(err, 'add_user')).toBeInstanceOf(CoreInvalidUserError);
    });

    it('accepts any number of users without an email, as the cores do', async () => {
      await rawAlterInbound(fake.addr, flavor, TAG, addOp({ id: UUID_A, flow: FLOW }, undefined, ''));
      await rawAlterInbound(fake.addr, flavor, TAG, addOp({ id: UUID_B, flow: FLOW }, undefined, ''));
      expect(fake.users(TAG).map((u) => u.email)).toEqual(['', '']);
    });

    it('drops users, counters and uptime on restart, and the client reconnects', async () => {
      await client.addUser(TAG, alice);
      fake.setStat('inbound>>>vless-in>>>traffic>>>uplink', 5);
      fake.setUptime(100);
      fake.restart();
      expect(fake.users(TAG)).toEqual([]);
      await expect(client.sysStats()).resolves.toEqual({ uptimeSeconds: 0 });
      await expect(client.queryStats('')).resolves.toEqual([]);
      await expect(client.addUser(TAG, alice)).resolves.toBe('added');
    });
  });
});
