import { startHttpTarget } from '../../test/support/target.harness';
import { fetchThroughKey } from '../../test/support/vless-client.harness';
import { BenchContext, ScenarioResult, SummaryRow, fmt } from '../support/bench.context';
import { GrantStack } from '../support/grant.stack';
import { elapsedMs, round, summarize } from '../support/latency.stats';
import { ProcessSampler } from '../support/process.sampler';
import { LOADED_ENV } from './full-size.scenario';

const CONCURRENCY = 8;
const GRANT_SECONDS = 30 * 86_400;
const TRAFFIC_EVERY_MS = 5000;
const TRAFFIC_BYTES = 256 * 1024;

export interface SoakMinute {
  minute: number;
  ops: number;
  errors: number;
  p99Ms: number;
  meanRssBytes: number;
  maxRssBytes: number;
  openFds: number;
  /** The minute's p99 of each kind of operation, to tell which one grows. */
  p99ByOpMs: Record<string, number>;
}

export interface SoakFigures {
  size: number;
  minutes: SoakMinute[];
  /** Per minute, from the first minute's figure to the last's. */
  rssSlopeBytesPerMinute: number;
  p99SlopeMsPerMinute: number;
  fdsFirst: number;
  fdsLast: number;
  traffic: { fetches: number; ok: number; bytes: number };
  ops: Record<string, number>;
}

type Op = 'grant' | 'renew' | 'revoke' | 'get';
const MIX: Op[] = ['grant', 'grant', 'grant', 'grant', 'renew', 'renew', 'revoke', 'revoke', 'get', 'get'];

/**
 * `--minutes` of mixed load on a node holding `--full-size` keys: new grants,
 * renewals of seeded keys, revocations, lookups, real VLESS traffic through
 * keys the soak granted, and the usage poller, reconcile passes and config
 * writer at their loaded intervals. Whether RSS, p99 and open descriptors stay
 * flat is read from the first minute against the last.
 */
export async function soakScenario(ctx: BenchContext): Promise<ScenarioResult> {
  const { options } = ctx;
  const size = options.fullSize;
  ctx.progress(`soak: seeding ${fmt.size(size)} keys`);
  const seeded = await ctx.seeder.size(size);
  const stack = await GrantStack.start(await ctx.scratch('soak'), {
    seeded: { dbPath: seeded.dbPath, keys: seeded.keys },
    keydEnv: LOADED_ENV,
    readyTimeoutMs: 120_000,
  });
  const target = await startHttpTarget();
  const sampler = new ProcessSampler(stack.keyd.pid as number, 1000).start();
  const started = process.hrtime.bigint();
  const endAt = Date.now() + options.minutes * 60_000;
  const latencies: number[][] = Array.from({ length: options.minutes }, () => []);
  const byOp: Record<string, number[]>[] = Array.from({ length: options.minutes }, () => ({}));
  const errors = new Array<number>(options.minutes).fill(0);
  const ops: Record<string, number> = { grant: 0, renew: 0, revoke: 0, get: 0 };
  const granted: { owner: string; uuid: string }[] = [];
  const traffic = { fetches: 0, ok: 0, bytes: 0 };
  let next = 0;
  let firstError: string | null = null;
  const minuteNow = () => Math.min(options.minutes - 1, Math.floor(elapsedMs(started) / 60_000));

  const one = async (op: Op, i: number) => {
    switch (op) {
      case 'grant': {
        const res = await stack.api.grant(`soak-${i}`, GRANT_SECONDS);
        granted.push({ owner: `soak-${i}`, uuid: res.key.uuid });
        return;
      }
      case 'renew':
        await stack.api.grant((seeded.keys[i % seeded.keys.length] as { ownerId: string }).ownerId, 86_400);
        return;
      case 'revoke': {
        // The oldest soak key goes, so traffic runs through the newer ones.
        const victim = granted.shift();
        if (victim) await stack.api.revoke(victim.owner);
        return;
      }
      case 'get':
        await stack.api.get((seeded.keys[(i * 7919) % seeded.keys.length] as { ownerId: string }).ownerId);
        return;
    }
  };
  const worker = async () => {
    while (Date.now() < endAt) {
      const i = next++;
      const op = MIX[i % MIX.length] as Op;
      const t0 = process.hrtime.bigint();
      try {
        await one(op, i);
        ops[op] = (ops[op] ?? 0) + 1;
        const ms = elapsedMs(t0);
        const minute = minuteNow();
        latencies[minute]?.push(ms);
        const mine = byOp[minute];
        if (mine) (mine[op] ??= []).push(ms);
      } catch (e) {
        errors[minuteNow()]++;
        firstError ??= e instanceof Error ? e.message : String(e);
      }
    }
  };
  const trafficLoop = async () => {
    while (Date.now() < endAt) {
      const key = granted[granted.length - 1];
      if (key) {
        traffic.fetches++;
        const res = await fetchThroughKey({
          vlessPort: stack.files.vlessPort,
          uuid: key.uuid,
          url: target.bytesUrl(TRAFFIC_BYTES),
        }).catch(() => ({ ok: false, bytes: 0 }));
        if (res.ok) traffic.ok++;
        traffic.bytes += res.bytes;
      }
      await new Promise((r) => setTimeout(r, TRAFFIC_EVERY_MS));
    }
  };

  ctx.progress(`soak: ${options.minutes} min of mixed load at c=${CONCURRENCY} on ${fmt.size(size)} keys`);
  try {
    await Promise.all([...Array.from({ length: CONCURRENCY }, worker), trafficLoop()]);
  } finally {
    sampler.stop();
    await target.close();
    await stack.stop();
  }

  const minutes: SoakMinute[] = latencies.map((l, minute) => {
    const inMinute = sampler.samples.filter((s) => Math.floor(s.atMs / 60_000) === minute);
    const rss = inMinute.map((s) => s.rssBytes);
    return {
      minute: minute + 1,
      ops: l.length,
      errors: errors[minute] ?? 0,
      p99Ms: summarize(l).p99Ms,
      meanRssBytes: rss.length ? Math.round(rss.reduce((a, b) => a + b, 0) / rss.length) : 0,
      maxRssBytes: Math.max(0, ...rss),
      openFds: inMinute[inMinute.length - 1]?.openFds ?? 0,
      p99ByOpMs: Object.fromEntries(Object.entries(byOp[minute] ?? {}).map(([op, l]) => [op, summarize(l).p99Ms])),
    };
  });
  const first = minutes[0] as SoakMinute;
  const last = minutes[minutes.length - 1] as SoakMinute;
  const span = Math.max(1, minutes.length - 1);
  const data: SoakFigures = {
    size,
    minutes,
    rssSlopeBytesPerMinute: Math.round((last.meanRssBytes - first.meanRssBytes) / span),
    p99SlopeMsPerMinute: round((last.p99Ms - first.p99Ms) / span, 2),
    fdsFirst: first.openFds,
    fdsLast: last.openFds,
    traffic,
    ops,
  };
  const rows: SummaryRow[] = [
    {
      figure: 'soak: RSS, last minute ÷ first',
      size: `${fmt.size(size)} keys, ${options.minutes} min`,
      ratio: fmt.ratio(first.meanRssBytes ? round(last.meanRssBytes / first.meanRssBytes, 3) : null),
      keyd: `slope ${fmt.bytes(data.rssSlopeBytesPerMinute)}/min; max ${fmt.bytes(Math.max(...minutes.map((m) => m.maxRssBytes)))}`,
      reference: `first ${fmt.bytes(first.meanRssBytes)}, last ${fmt.bytes(last.meanRssBytes)}`,
    },
    {
      figure: 'soak: p99, last minute ÷ first',
      size: `c=${CONCURRENCY}, mixed`,
      ratio: fmt.ratio(first.p99Ms ? round(last.p99Ms / first.p99Ms, 3) : null),
      keyd: `slope ${data.p99SlopeMsPerMinute} ms/min; ${Object.entries(ops)
        .map(([k, v]) => `${v} ${k}`)
        .join(', ')}`,
      reference: `first ${fmt.ms(first.p99Ms)}, last ${fmt.ms(last.p99Ms)}`,
    },
    {
      figure: 'soak: open descriptors, last minute − first',
      size: `${traffic.ok}/${traffic.fetches} traffic fetches`,
      ratio: String(data.fdsLast - data.fdsFirst),
      keyd: `${data.fdsLast} at the end`,
      reference: `${data.fdsFirst} after the first minute`,
    },
  ];
  const notes = [
    `per minute (ops, p99 ms, mean RSS MB, fds): ${minutes
      .map((m) => `${m.ops}/${m.p99Ms}/${round(m.meanRssBytes / 1e6, 0)}/${m.openFds}`)
      .join(' ')}`,
    `p99 ms by operation, per minute: ${minutes
      .map((m) =>
        Object.entries(m.p99ByOpMs)
          .map(([op, p]) => `${op} ${p}`)
          .join(', '),
      )
      .join(' | ')}`,
    `errors ${minutes.reduce((n, m) => n + m.errors, 0)}${firstError ? `, first: ${firstError}` : ''}`,
  ];
  return { name: 'soak', rows, notes, data };
}
