import * as grpc from '@grpc/grpc-js';
import { Inject, Injectable, OnApplicationShutdown } from '@nestjs/common';
import { KEYD_CONFIG, KeydConfig } from '@keyd/config';
import { coreFlavor, CoreFlavor } from './core.flavor';
import { coreProtos, CoreProtos } from './core-protos.loader';
import { isUserExists, isUserNotFound, toCoreError } from './core-error.mapper';
import { CoreInvalidUserError, CoreUnsupportedError } from './xray.errors';
import {
  AddUserOutcome,
  CoreCallListener,
  CoreOperation,
  CoreStat,
  CoreSysStats,
  CoreUser,
  CoreUserTraffic,
  RemoveUserOutcome,
} from './xray.types';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/**
 * Measured on keyd's emails (an owner slug of up to 32 characters and a UUID):
 * a poll answers 174-214 bytes per user counted and a listing 148-168 per user,
 * so grpc-js's default of 4 MiB stops at about 20k users. 500k users take 107
 * and 84 MB at the longest emails; this leaves room for 1.2M counted users,
 * removed ones included (the core keeps their counters until it restarts).
 */
export const CORE_MAX_RECEIVE_BYTES = 256 * 1024 * 1024;

type Unary = (
  req: unknown,
  meta: grpc.Metadata,
  opts: grpc.CallOptions,
  cb: (err: grpc.ServiceError | null, res?: unknown) => void,
) => void;

export interface XrayClientOptions {
  apiAddr: string;
  flavor: CoreFlavor['name'];
  callTimeoutMs: number;
}

/**
 * The core's HandlerService and StatsService over one long-lived channel. Adds
 * and removes are idempotent; every other failure surfaces as a typed CoreError.
 */
@Injectable()
export class XrayClient implements OnApplicationShutdown {
  readonly flavor: CoreFlavor;
  private readonly protos: CoreProtos;
  private readonly channel: grpc.Channel;
  private readonly handler: grpc.Client;
  private readonly stats: grpc.Client;
  private readonly timeoutMs: number;
  private readonly listeners: CoreCallListener[] = [];

  constructor(@Inject(KEYD_CONFIG) config: Pick<KeydConfig, 'core'> | { core: XrayClientOptions }) {
    const { apiAddr, flavor, callTimeoutMs } = config.core;
    this.flavor = coreFlavor(flavor);
    this.protos = coreProtos(this.flavor);
    this.timeoutMs = callTimeoutMs;
    const options: grpc.ChannelOptions = {
      // A restarted core should be found again within a probe or two, not after the default 2-minute backoff.
      'grpc.initial_reconnect_backoff_ms': 200,
      'grpc.max_reconnect_backoff_ms': 2000,
      'grpc.max_receive_message_length': CORE_MAX_RECEIVE_BYTES,
    };
    const credentials = grpc.credentials.createInsecure();
    this.channel = new grpc.Channel(apiAddr, credentials, options);
    this.handler = new this.protos.handlerClient(apiAddr, credentials, { channelOverride: this.channel });
    this.stats = new this.protos.statsClient(apiAddr, credentials, { channelOverride: this.channel });
  }

  /** Closed last, after in-flight requests and the final reconcile pass are done with it. */
  onApplicationShutdown(): void {
    this.close();
  }

  /** Observes every call's outcome, for metrics. */
  addCallListener(listener: CoreCallListener): void {
    this.listeners.push(listener);
  }

  close(): void {
    this.handler.close();
    this.stats.close();
    this.channel.close();
  }

  /**
   * Calls back whenever an established connection to the core is lost: the
   * core may have restarted between two probes, too fast for its uptime to
   * show it.
   */
  onConnectionLost(callback: () => void): void {
    const watch = (last: grpc.connectivityState) => {
      try {
        this.channel.watchConnectivityState(last, Infinity, () => {
          const now = this.channel.getConnectivityState(false);
          if (last === grpc.connectivityState.READY && now !== grpc.connectivityState.READY) callback();
          if (now !== grpc.connectivityState.SHUTDOWN) watch(now);
        });
      } catch {
        // The channel was closed: nothing left to watch.
      }
    };
    watch(this.channel.getConnectivityState(false));
  }

  async addUser(tag: string, user: CoreUser): Promise<AddUserOutcome> {
    if (!user.email) throw new CoreInvalidUserError('add_user: an empty email could never be removed');
    if (!UUID.test(user.uuid)) throw new CoreInvalidUserError(`add_user: not a UUID: ${user.uuid}`);
    // API-added users do not inherit the inbound's flow, so it is set on every account.
    const account = this.protos.pack('proxy.vless.Account', { id: user.uuid, flow: user.flow, encryption: 'none' });
    const operation = this.protos.pack('app.proxyman.command.AddUserOperation', {
      user: { level: user.level, email: user.email, account },
    });
    return this.call('add_user', this.handler, 'AlterInbound', { tag, operation }, (e) =>
      isUserExists(e) ? 'already_exists' : undefined,
    ).then((r) => (r === 'already_exists' ? r : 'added'));
  }

  async removeUser(tag: string, email: string): Promise<RemoveUserOutcome> {
    if (!email) throw new CoreInvalidUserError('remove_user: empty email');
    const operation = this.protos.pack('app.proxyman.command.RemoveUserOperation', { email });
    return this.call('remove_user', this.handler, 'AlterInbound', { tag, operation }, (e) =>
      isUserNotFound(e) ? 'not_found' : undefined,
    ).then((r) => (r === 'not_found' ? r : 'removed'));
  }

  async sysStats(): Promise<CoreSysStats> {
    const res = (await this.call('sys_stats', this.stats, 'GetSysStats', {})) as { Uptime?: number };
    return { uptimeSeconds: Number(res.Uptime ?? 0) };
  }

  /** The inbound's users, or null when the core cannot list them (V2Ray, Xray before 24.11.5). */
  async listUsers(tag: string): Promise<CoreUser[] | null> {
    try {
      const res = (await this.call('list_users', this.handler, 'GetInboundUsers', { tag, email: '' })) as {
        users?: { email: string; level: number; account?: { type: string; value: Uint8Array } }[];
      };
      return (res.users ?? []).map((u) => {
        const account = u.account?.value ? this.protos.unpack('proxy.vless.Account', u.account.value) : {};
        return { email: u.email, level: u.level, uuid: String(account.id ?? ''), flow: String(account.flow ?? '') };
      });
    } catch (e) {
      if (e instanceof CoreUnsupportedError) return null;
      throw e;
    }
  }

  /** Counters matching the pattern, read without reset. */
  async queryStats(pattern: string): Promise<CoreStat[]> {
    const res = (await this.call('query_stats', this.stats, 'QueryStats', { pattern, reset: false })) as {
      stat?: { name: string; value: number }[];
    };
    return (res.stat ?? []).map((s) => ({ name: s.name, value: Number(s.value) }));
  }

  /**
   * The traffic counters of the users that have a connection open, read
   * without reset; null when the core lacks GetUsersStats (V2Ray, Xray before
   * 26.4.13). Users without an open connection are left out, whatever their
   * counters did since the last read.
   */
  async usersTraffic(): Promise<CoreUserTraffic[] | null> {
    try {
      const res = (await this.call('users_stats', this.stats, 'GetUsersStats', {
        include_traffic: true,
        reset: false,
      })) as { users?: { email: string; traffic?: { uplink?: number; downlink?: number } | null }[] };
      return (res.users ?? []).map((u) => ({
        email: u.email,
        uplink: Number(u.traffic?.uplink ?? 0),
        downlink: Number(u.traffic?.downlink ?? 0),
      }));
    } catch (e) {
      if (e instanceof CoreUnsupportedError) return null;
      throw e;
    }
  }

  private call<T>(
    operation: CoreOperation,
    client: grpc.Client,
    method: string,
    request: unknown,
    accept?: (e: grpc.ServiceError) => T | undefined,
  ): Promise<T | unknown> {
    const started = process.hrtime.bigint();
    const done = (result: string) => {
      const seconds = Number(process.hrtime.bigint() - started) / 1e9;
      for (const l of this.listeners) l.onCoreCall(operation, result, seconds);
    };
    const fn = (client as unknown as Record<string, Unary>)[method].bind(client);
    return new Promise((resolve, reject) => {
      fn(request, new grpc.Metadata(), { deadline: Date.now() + this.timeoutMs }, (err, res) => {
        if (!err) {
          done('ok');
          return resolve(res);
        }
        const accepted = accept?.(err);
        if (accepted !== undefined) {
          done(String(accepted));
          return resolve(accepted);
        }
        const error = toCoreError(err, operation);
        done(error.kind);
        reject(error);
      });
    });
  }
}
