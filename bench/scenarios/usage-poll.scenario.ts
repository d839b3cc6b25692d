import * as path from 'path';
import { KeyRepository, NodeRepository, StoreDatabase, USAGE_BATCH, UsageDelta, UsageRepository } from '@keyd/store';
import { BenchContext, ScenarioResult, SummaryRow, fmt } from '../support/bench.context';
import { median } from '../support/latency.stats';

interface PollFigures {
  size: number;
  baselinesMs: number;
  commitMs: number;
  idleCommitMs: number;
  /** A grant-sized commit that arrives just after a poll started moving every key. */
  commitDuringPollMs: number;
}

/**
 * The database side of a traffic poll in which every key moved: reading the
 * stored counters, committing the deltas, and how long a grant's commit waits
 * meanwhile next to an idle store. The core's QueryStats is not timed: v2ray
 * only creates a user's counter once that user has carried traffic.
 */
export async function usagePollScenario(ctx: BenchContext): Promise<ScenarioResult> {
  const out: PollFigures[] = [];
  for (const size of ctx.options.sizes) {
    ctx.progress(`usage poll ${fmt.size(size)}: every key moved`);
    const dir = await ctx.scratch(`usage-poll-${size}`);
    const db = await StoreDatabase.open(path.join(dir, 'keyd.sqlite'));
    try {
      out.push(await measure(db, size));
    } finally {
      await db.close();
    }
  }
  const rows: SummaryRow[] = out.map((f) => ({
    figure: 'grant commit during a poll ÷ idle',
    size: `${fmt.size(f.size)} keys moved`,
    ratio: fmt.ratio(f.commitDuringPollMs / f.idleCommitMs),
    keyd: `waits ${fmt.ms(f.commitDuringPollMs)} (idle ${fmt.ms(f.idleCommitMs)})`,
    reference: `poll: read ${fmt.ms(f.baselinesMs)}, commit ${fmt.ms(f.commitMs)} in batches of ${USAGE_BATCH}`,
  }));
  return { name: 'usage-poll', rows, notes: [], data: out };
}

async function measure(db: StoreDatabase, size: number): Promise<PollFigures> {
  const keys = new KeyRepository(db);
  const usage = new UsageRepository(db, keys);
  const node = await new NodeRepository(db).seed(
    { name: 'bench', apiAddr: '127.0.0.1:1', flavor: 'v2ray' },
    new Date(),
  );
  await seed(db, size, node.id);
  const commit = async (owner: string) => {
    const t = performance.now();
    await keys.write((tx) => tx.findLiveByOwner(owner));
    return performance.now() - t;
  };
  const idle: number[] = [];
  for (let i = 0; i < 20; i++) idle.push(await commit(`idle-${i}`));
  let t = performance.now();
  const baselines = await usage.countedBaselines(new Date());
  const baselinesMs = performance.now() - t;
  const deltas: UsageDelta[] = baselines.map((b, i) => ({
    keyId: b.keyId,
    uplink: 1000 + i,
    downlink: 50_000 + i,
    rawUplink: 1000 + i,
    rawDownlink: 50_000 + i,
  }));
  const now = new Date();
  t = performance.now();
  const poll = usage.commitPoll({
    deltas,
    resetBaselines: false,
    stats: null,
    periods: { day: now, week: now, month: now },
    now,
  });
  const during = commit('during');
  await poll;
  const commitMs = performance.now() - t;
  return { size, baselinesMs, commitMs, idleCommitMs: median(idle), commitDuringPollMs: await during };
}

async function seed(db: StoreDatabase, n: number, nodeId: number): Promise<string[]> {
  const emails: string[] = [];
  const now = Date.now();
  await db.transaction(async (query) => {
    for (let i = 0; i < n; i += 500) {
      const rows: unknown[] = [];
      const marks: string[] = [];
      for (let j = i; j < Math.min(n, i + 500); j++) {
        const uuid = `00000000-0000-4000-8000-${j.toString(16).padStart(12, '0')}`;
        emails.push(`u${j}.${uuid}`);
        marks.push(`(?, ?, ?, ?, 'vless-in', '', 'ACTIVE', ?, ?, ?, ?, ?, ?)`);
        rows.push(`u${j}`, uuid, `u${j}.${uuid}`, nodeId, now + 86_400_000, j + 1, j + 1, now, now, now);
      }
      await query(
        `INSERT INTO keys (owner_id, uuid, email, node_id, inbound_tag, flow, status, subscription_end,
           change_seq, applied_seq, usage_period_start, created_at, updated_at) VALUES ${marks.join(',')}`,
        rows,
      );
    }
  });
  return emails;
}
