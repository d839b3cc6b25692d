import { Key } from '@keyd/domain';
import { ImportedKey, ImportLookups } from '@keyd/store';
import { emailFor, KeyFactory, newSubscriptionToken } from './key.factory';
import { ImportConfigClient, ImportOptions, ImportReport, ImportRow } from './import.types';

/** What one batch changes: keys to revoke (replaced), keys to insert, existing keys still to push. */
export interface ImportBatchPlan {
  revokes: Key[];
  inserts: ImportedKey[];
  pending: Key[];
}

const MAX_EMAIL = 255;

/**
 * Decides, batch by batch, what each row and orphan becomes, and counts it in
 * the report. Pure decisions over what the lookups answer, so the same code
 * plans a dry run (plain reads) and a real run (inside the batch's transaction,
 * where nothing can change between the decision and the write).
 */
export class ImportPlanner {
  private readonly usedEmails = new Set<string>();

  constructor(
    private readonly factory: KeyFactory,
    private readonly options: ImportOptions,
    /** The old config's clients: UUID to email ('' when it had none). */
    private readonly config: Map<string, string>,
    private readonly report: ImportReport,
    private readonly now: Date,
  ) {}

  async planRows(rows: ImportRow[], db: ImportLookups): Promise<ImportBatchPlan> {
    const plan: ImportBatchPlan = { revokes: [], inserts: [], pending: [] };
    const byUuid = new Map((await db.findByUuids(rows.map((r) => r.uuid))).map((k) => [k.uuid, k]));
    const live = new Map((await db.findLiveByOwners(rows.map((r) => r.ownerId))).map((k) => [k.ownerId, k]));
    const emails = await this.emails(
      rows.map((r) => r.uuid),
      db,
    );
    for (const r of rows) {
      const issue = { line: r.line, ownerId: r.ownerId, uuid: r.uuid };
      const existing = byUuid.get(r.uuid);
      if (existing) {
        if (existing.ownerId !== r.ownerId) {
          this.report.conflicts.push({
            ...issue,
            reason: `uuid: keyd holds it for another owner (${existing.ownerId})`,
          });
          continue;
        }
        // Imported before: nothing to change, but a push a crash interrupted is finished now.
        this.report.unchanged++;
        if (!existing.provisioned) plan.pending.push(existing);
        continue;
      }
      const active = r.subscriptionEnd > this.now;
      const current = live.get(r.ownerId);
      if (active && current) {
        if (!this.options.replace) {
          this.report.conflicts.push({ ...issue, reason: 'owner_id: has a live key in keyd (--replace replaces it)' });
          continue;
        }
        plan.revokes.push(current);
        this.report.replaced++;
      }
      const inConfig = this.config.has(r.uuid);
      plan.inserts.push({
        ...this.factory.adoptedKey(r.ownerId, r.uuid, this.email(r.ownerId, r.uuid, emails), {
          subscriptionEnd: r.subscriptionEnd,
          dataLimitBytes: r.dataLimitBytes,
          limitReset: r.limitReset,
          subscriptionToken: newSubscriptionToken(),
        }),
        status: active ? 'ACTIVE' : 'EXPIRED',
        // An expired key the core never had needs no call; one from the old config is removed from the core.
        applied: !active && !inConfig,
      });
      if (active) this.report.importedActive++;
      else this.report.importedExpired++;
      if (active && !inConfig) this.report.healed++;
    }
    return plan;
  }

  /** Config clients no row speaks for: reported, imported or revoked as `legacy:<uuid>` by the policy. */
  async planOrphans(clients: ImportConfigClient[], db: ImportLookups): Promise<ImportBatchPlan> {
    const plan: ImportBatchPlan = { revokes: [], inserts: [], pending: [] };
    const known = new Set((await db.findByUuids(clients.map((c) => c.uuid))).map((k) => k.uuid));
    const emails = await this.emails(
      clients.map((c) => c.uuid),
      db,
    );
    for (const c of clients) {
      // A UUID keyd already holds is managed, not orphaned: a second run finds nothing to do.
      if (known.has(c.uuid)) continue;
      const ownerId = `legacy:${c.uuid}`;
      if (this.options.orphans === 'skip') {
        this.report.orphans.push({ line: 0, ownerId: '', uuid: c.uuid, reason: 'in the config, no owner row' });
        continue;
      }
      const revoke = this.options.orphans === 'revoke';
      plan.inserts.push({
        ...this.factory.adoptedKey(ownerId, c.uuid, this.email(ownerId, c.uuid, emails), {
          subscriptionEnd: new Date(this.now.getTime() + (revoke ? 0 : this.options.orphanDurationSeconds * 1000)),
          dataLimitBytes: 0,
          limitReset: 'none',
          subscriptionToken: revoke ? null : newSubscriptionToken(),
        }),
        status: revoke ? 'REVOKED' : 'ACTIVE',
        applied: false,
      });
      if (revoke) this.report.orphansRevoked++;
      else this.report.orphansImported++;
    }
    return plan;
  }

  /** The legacy emails of these UUIDs that no key holds yet. */
  private async emails(uuids: string[], db: ImportLookups): Promise<Set<string>> {
    const wanted = uuids.map((u) => this.config.get(u) ?? '').filter((e) => this.usable(e));
    const taken = new Set((await db.takenEmails(wanted)).map((e) => e.toLowerCase()));
    return new Set(wanted.map((e) => e.toLowerCase()).filter((e) => !taken.has(e)));
  }

  /**
   * The old config's email when it has a usable one: the core already holds
   * the user under it, so adding answers "already exists" and a later removal
   * by that email really removes it. Otherwise keyd's own form.
   */
  private email(ownerId: string, uuid: string, free: Set<string>): string {
    const legacy = this.config.get(uuid) ?? '';
    const lower = legacy.toLowerCase();
    if (this.usable(legacy) && free.has(lower) && !this.usedEmails.has(lower)) {
      this.usedEmails.add(lower);
      return legacy;
    }
    const own = emailFor(ownerId);
    this.usedEmails.add(own.toLowerCase());
    return own;
  }

  private usable(email: string): boolean {
    return email.trim() === email && email.length > 0 && email.length <= MAX_EMAIL && !email.includes('>>>');
  }
}
