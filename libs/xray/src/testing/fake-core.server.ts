import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { loadCoreProtos } from '../core-protos.loader';

/*
 * An in-process stand-in for the core's gRPC API, for unit tests only: production
 * code must never import this file. It reproduces the wire names, status codes and
 * error texts of the real cores, because the client tells outcomes apart by them.
 */

export type FakeFlavor = 'xray' | 'v2ray';

export interface FakeCoreOptions {
  flavor: FakeFlavor;
  /** Default ['vless-in']. */
  inboundTags?: string[];
  /** Whether GetInboundUsers(Count) are served. Default: true for xray (>= 24.11.5), false for v2ray. */
  listUsers?: boolean;
  /** Whether GetUsersStats is served (Xray >= 26.4.13). Default false: V2Ray and older Xray. */
  usersStats?: boolean;
}

export type FakeUser = { email: string; uuid: string; flow: string; level: number };

export interface FakeCall {
  method: string;
  /** AlterInbound's operation type string, exactly as received. */
  type?: string;
  /** The added user's account type string, exactly as received. */
  accountType?: string;
}

export interface FakeCore {
  addr: string;
  /** Users of one inbound (default: the first tag), as the core would list them. */
  users(tag?: string): FakeUser[];
  calls: FakeCall[];
  setUptime(seconds: number): void;
  setStat(name: string, value: number): void;
  /** Whether the user has a connection open, as the core's online map tracks it (statsUserOnline). */
  setOnline(email: string, online: boolean): void;
  /** Puts users straight into an inbound, as if added one by one; for tests that need many. */
  seedUsers(users: FakeUser[], tag?: string): void;
  /** The next call that reaches the core fails with this status; several queue up. */
  failNext(code: number, details: string): void;
  /** The next call of this method fails with this status, whatever other calls come first. */
  failNextOf(method: string, code: number, details: string): void;
  /** The next call is answered only after this delay (and still takes effect, as on a slow core). */
  delayNext(ms: number): void;
  /** Like a core restart: users and counters are gone and uptime starts again at 0. */
  restart(): void;
  stop(): Promise<void>;
}

// Written out rather than taken from core.flavor.ts, so that a wrong mapping in the
// client cannot be mirrored by the fake that is meant to catch it.
const PACKAGE: Record<FakeFlavor, string> = { xray: 'xray.', v2ray: 'v2ray.core.' };
const SOURCE: Record<FakeFlavor, string> = { xray: 'github.com/xtls/xray-core/', v2ray: 'v2ray.com/core/' };

// What the Go cores' UUID parser accepts in every version; Xray's extra
// "any short string becomes a UUIDv5" mapping is deliberately not modelled.
const UUID = /^([0-9a-f]{8})-?([0-9a-f]{4})-?([0-9a-f]{4})-?([0-9a-f]{4})-?([0-9a-f]{12})$/i;

type TypedMessage = { type: string; value: Buffer };
type ProtoUser = { level: number; email: string; account: TypedMessage | null };
type AlterInboundRequest = { tag: string; operation: TypedMessage | null };
type GetInboundUserRequest = { tag: string; email: string };
type QueryStatsRequest = { pattern: string; reset: boolean };
type GetUsersStatsRequest = { include_traffic: boolean; reset: boolean };
type StoredUser = FakeUser & { encryption: string };

class Fault {
  constructor(
    readonly code: number,
    readonly details: string,
  ) {}
}

export async function startFakeCore(opts: FakeCoreOptions): Promise<FakeCore> {
  const { definition, root } = loadCoreProtos();
  const pkg = PACKAGE[opts.flavor];
  const tags = opts.inboundTags ?? ['vless-in'];
  const listUsers = opts.listUsers ?? opts.flavor === 'xray';
  const inbounds = new Map(tags.map((t) => [t, new Map<string, StoredUser>()]));
  const stats = new Map<string, number>();
  const online = new Set<string>();
  const calls: FakeCall[] = [];
  const faults: Fault[] = [];
  const methodFaults = new Map<string, Fault[]>();
  const delays: number[] = [];
  const timers = new Set<NodeJS.Timeout>();
  let uptime = 0;
  let anonymous = 0;

  const decode = <T>(relativeType: string, value: Uint8Array): T => {
    const type = root.lookupType('xray.' + relativeType);
    return type.toObject(type.decode(value), { defaults: true, longs: Number }) as T;
  };
  const encode = (relativeType: string, value: Record<string, unknown>): TypedMessage => {
    const type = root.lookupType('xray.' + relativeType);
    return { type: pkg + relativeType, value: Buffer.from(type.encode(type.fromObject(value)).finish()) };
  };
  // The cores answer with a Go error chain: "<source path>: <message> > <cause>".
  const chain = (...links: [string | null, string][]) =>
    new Fault(
      grpc.status.UNKNOWN,
      links.map(([src, msg]) => (src ? `${SOURCE[opts.flavor]}${src}: ${msg}` : msg)).join(' > '),
    );
  const inbound = (tag: string) => {
    const users = inbounds.get(tag);
    if (!users)
      throw chain(
        ['app/proxyman/command', `failed to get handler: ${tag}`],
        ['app/proxyman/inbound', `handler not found: ${tag}`],
      );
    return users;
  };
  const describeAlter = ({ operation }: AlterInboundRequest): Omit<FakeCall, 'method'> => {
    if (!operation) return {};
    if (!operation.type.endsWith('.AddUserOperation')) return { type: operation.type };
    try {
      const { user } = decode<{ user: ProtoUser | null }>('app.proxyman.command.AddUserOperation', operation.value);
      return { type: operation.type, accountType: user?.account?.type };
    } catch {
      return { type: operation.type };
    }
  };

  // Every call is recorded as it arrives, before any injected fault or delay, as a core would see it.
  function unary<Req>(method: string, serve: (req: Req) => object, describe?: (req: Req) => Omit<FakeCall, 'method'>) {
    return ((call, callback) => {
      calls.push({ method, ...describe?.(call.request) });
      const fault = methodFaults.get(method)?.shift() ?? faults.shift();
      const timer = setTimeout(() => {
        timers.delete(timer);
        try {
          if (fault) throw fault;
          callback(null, serve(call.request));
        } catch (e) {
          // Anything but a Fault is a request the core could not even unmarshal.
          callback(
            e instanceof Fault
              ? { code: e.code, details: e.details }
              : { code: grpc.status.INTERNAL, details: String(e) },
          );
        }
      }, delays.shift() ?? 0);
      timers.add(timer);
    }) as grpc.handleUnaryCall<Req, object>;
  }

  // The order of checks follows the cores: resolve the operation, find the handler, then apply.
  function alterInbound({ tag, operation }: AlterInboundRequest): object {
    const { type: opType, value } = operation ?? { type: '', value: Buffer.alloc(0) };
    if (opType === pkg + 'app.proxyman.command.AddUserOperation') {
      const users = inbound(tag);
      const { user } = decode<{ user: ProtoUser | null }>('app.proxyman.command.AddUserOperation', value);
      const accountType = user?.account?.type ?? '';
      if (!user?.account || accountType !== pkg + 'proxy.vless.Account')
        throw chain(
          ['app/proxyman/command', 'failed to parse user'],
          ['common/serial', `unknown type: ${accountType}`],
        );
      const account = decode<{ id: string; flow: string; encryption: string }>(
        'proxy.vless.Account',
        user.account.value,
      );
      const id = UUID.exec(account.id);
      if (!id)
        throw chain(
          ['app/proxyman/command', 'failed to parse user'],
          ['proxy/vless', 'failed to parse ID'],
          [null, `invalid UUID: ${account.id}`],
        );
      // The VLESS validator indexes users by lower-cased email only when there is one: users
      // without an email are all accepted, and can never be removed again.
      const key = user.email ? user.email.toLowerCase() : `\0${++anonymous}`;
      if (users.has(key))
        throw chain(
          ['app/proxyman/command', 'failed to add user'],
          ['proxy/vless/inbound', `User ${user.email} already exists.`],
        );
      // Cores keep the UUID as bytes, so it reads back lower-case with dashes whatever was sent.
      const uuid = id.slice(1).join('-').toLowerCase();
      users.set(key, {
        email: user.email,
        uuid,
        flow: account.flow,
        level: user.level,
        encryption: account.encryption,
      });
      return {};
    }
    if (opType === pkg + 'app.proxyman.command.RemoveUserOperation') {
      const users = inbound(tag);
      const { email } = decode<{ email: string }>('app.proxyman.command.RemoveUserOperation', value);
      if (!email) throw chain(['proxy/vless/inbound', 'Email must not be empty.']);
      if (!users.delete(email.toLowerCase()))
        throw chain(
          ['app/proxyman/command', 'failed to remove user'],
          ['proxy/vless/inbound', `User ${email} not found.`],
        );
      return {};
    }
    throw chain(['app/proxyman/command', 'unknown operation'], ['common/serial', `unknown type: ${opType}`]);
  }

  function inboundUsers({ tag, email }: GetInboundUserRequest, method: string): StoredUser[] {
    // Cores without these methods answer as grpc-go does for any unregistered method.
    if (!listUsers)
      throw new Fault(
        grpc.status.UNIMPLEMENTED,
        `unknown method ${method} for service ${pkg}app.proxyman.command.HandlerService`,
      );
    const users = [...inbound(tag).values()];
    return email ? users.filter((u) => u.email.toLowerCase() === email.toLowerCase()) : users;
  }

  const handlerImpl: grpc.UntypedServiceImplementation = {
    AlterInbound: unary<AlterInboundRequest>('AlterInbound', alterInbound, describeAlter),
    GetInboundUsers: unary<GetInboundUserRequest>('GetInboundUsers', (req) => ({
      users: inboundUsers(req, 'GetInboundUsers').map((u) => ({
        level: u.level,
        email: u.email,
        account: encode('proxy.vless.Account', { id: u.uuid, flow: u.flow, encryption: u.encryption }),
      })),
    })),
    GetInboundUsersCount: unary<GetInboundUserRequest>('GetInboundUsersCount', (req) => ({
      count: inboundUsers(req, 'GetInboundUsersCount').length,
    })),
  };
  const statsImpl: grpc.UntypedServiceImplementation = {
    QueryStats: unary<QueryStatsRequest>('QueryStats', ({ pattern, reset }) => {
      const stat = [...stats].filter(([name]) => name.includes(pattern)).map(([name, value]) => ({ name, value }));
      if (reset) for (const s of stat) stats.set(s.name, 0);
      return { stat };
    }),
    GetSysStats: unary<object>('GetSysStats', () => ({ Uptime: uptime })),
    // As Xray answers it: only users with an open connection, each with the exact counters of its email.
    GetUsersStats: unary<GetUsersStatsRequest>('GetUsersStats', ({ include_traffic, reset }) => {
      if (!opts.usersStats)
        throw new Fault(
          grpc.status.UNIMPLEMENTED,
          `unknown method GetUsersStats for service ${pkg}app.stats.command.StatsService`,
        );
      const counter = (email: string, direction: string) => {
        const name = `user>>>${email}>>>traffic>>>${direction}`;
        const value = stats.get(name) ?? 0;
        if (reset && stats.has(name)) stats.set(name, 0);
        return value;
      };
      return {
        users: [...online].map((email) =>
          include_traffic
            ? { email, traffic: { uplink: counter(email, 'uplink'), downlink: counter(email, 'downlink') } }
            : { email },
        ),
      };
    }),
  };

  // The proto files declare Xray's packages; each flavor serves them under its own service names.
  const serviceAs = (relativeService: string): grpc.ServiceDefinition => {
    const original = definition['xray.' + relativeService] as protoLoader.ServiceDefinition;
    const path = `/${pkg}${relativeService}/`;
    return Object.fromEntries(
      Object.entries(original).map(([m, def]) => [m, { ...def, path: path + m }]),
    ) as grpc.ServiceDefinition;
  };
  const server = new grpc.Server();
  server.addService(serviceAs('app.proxyman.command.HandlerService'), handlerImpl);
  server.addService(serviceAs('app.stats.command.StatsService'), statsImpl);
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (err, p) =>
      err ? reject(err) : resolve(p),
    ),
  );

  const addr = `127.0.0.1:${port}`;
  return {
    addr,
    users: (tag = tags[0]) =>
      [...(inbounds.get(tag)?.values() ?? [])].map(({ email, uuid, flow, level }) => ({ email, uuid, flow, level })),
    calls,
    setUptime: (seconds) => void (uptime = seconds),
    setStat: (name, value) => void stats.set(name, value),
    setOnline: (email, on) => void (on ? online.add(email) : online.delete(email)),
    seedUsers(users, tag = tags[0]) {
      const inbound = inbounds.get(tag);
      if (!inbound) throw new Error(`no inbound ${tag}`);
      for (const u of users) inbound.set(u.email.toLowerCase(), { ...u, encryption: 'none' });
    },
    failNext: (code, details) => void faults.push(new Fault(code, details)),
    failNextOf(method, code, details) {
      methodFaults.set(method, [...(methodFaults.get(method) ?? []), new Fault(code, details)]);
    },
    delayNext: (ms) => void delays.push(ms),
    restart() {
      // A restarted core has dropped every connection and every call in flight, and forgotten all API-added state.
      for (const t of timers) clearTimeout(t);
      timers.clear();
      server.drain(addr, 0);
      for (const users of inbounds.values()) users.clear();
      stats.clear();
      online.clear();
      uptime = 0;
    },
    async stop() {
      for (const t of timers) clearTimeout(t);
      timers.clear();
      // Force: a delayed call still in flight would otherwise hold a graceful shutdown open.
      server.forceShutdown();
    },
  };
}
