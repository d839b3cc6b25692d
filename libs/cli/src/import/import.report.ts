import { block } from '../output.format';

export interface WireIssue {
  line: number;
  owner_id: string;
  uuid: string;
  reason: string;
}

export interface WireImportReport {
  dry_run: boolean;
  rows: number;
  config_clients: number;
  imported_active: number;
  imported_expired: number;
  healed: number;
  unchanged: number;
  conflicts: WireIssue[];
  replaced: number;
  orphans: WireIssue[];
  orphans_imported: number;
  orphans_revoked: number;
  invalid: WireIssue[];
  provisioned: number;
  provision_failed: number;
  changes: number;
  duration: { seconds: number; nanos: number } | null;
}

const SHOWN = 20;

function list(title: string, issues: WireIssue[]): string {
  if (!issues.length) return '';
  const lines = issues
    .slice(0, SHOWN)
    .map((i) => `  ${i.line ? `line ${i.line}: ` : ''}${i.owner_id ? `${i.owner_id} ` : ''}${i.uuid} — ${i.reason}`);
  const more = issues.length > SHOWN ? [`  … and ${issues.length - SHOWN} more (--json lists them all)`] : [];
  return `\n\n${title}:\n${[...lines, ...more].join('\n')}`;
}

export function importReportText(r: WireImportReport, inbound: string): string {
  const seconds = r.duration ? r.duration.seconds + r.duration.nanos / 1e9 : 0;
  const head = r.dry_run ? 'Dry run: nothing was written. The import would do this:' : 'Import done:';
  const rows = block([
    ['read', `${r.rows} owner rows, ${r.config_clients} clients in the config (inbound ${inbound})`],
    [
      'imported',
      `${r.imported_active} active (${r.healed} healed: missing from the config), ${r.imported_expired} expired`,
    ],
    ['unchanged', `${r.unchanged} already in keyd`],
    ['replaced', `${r.replaced} live keys in keyd replaced (--replace)`],
    ['conflicts', `${r.conflicts.length} skipped`],
    [
      'orphans',
      `${r.orphans.length} left as they are, ${r.orphans_imported} imported, ${r.orphans_revoked} revoked ` +
        '(config clients with no owner row)',
    ],
    ['invalid', `${r.invalid.length} skipped (--skip-invalid)`],
    ...(r.dry_run
      ? []
      : ([['in the core', `${r.provisioned} confirmed, ${r.provision_failed} pending (retried by reconciliation)`]] as [
          string,
          string,
        ][])),
    ['changes', `${r.changes}`],
    ['took', `${seconds.toFixed(1)} s`],
  ]);
  return `${head}\n${rows}${list('Conflicts', r.conflicts)}${list('Orphans', r.orphans)}${list('Invalid rows', r.invalid)}`;
}
