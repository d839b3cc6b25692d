import { WireKey, WireNode, WireReconcileReport, WireStatus, WireTimestamp } from './wire.types';

const isTimestamp = (v: unknown): v is WireTimestamp =>
  typeof v === 'object' && v !== null && Object.keys(v).sort().join() === 'nanos,seconds';

const iso = (t: WireTimestamp) => new Date(t.seconds * 1000 + Math.round(t.nanos / 1e6)).toISOString();

/**
 * The message as proto3's JSON mapping writes it: timestamps as RFC 3339,
 * durations as "1.5s". Field names stay the proto's, as in the HTTP API.
 */
export function toJson(value: unknown, field = ''): unknown {
  if (isTimestamp(value)) return field === 'duration' ? `${value.seconds + value.nanos / 1e9}s` : iso(value);
  if (Array.isArray(value)) return value.map((v) => toJson(v));
  if (typeof value === 'object' && value !== null)
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, toJson(v, k)]));
  return value;
}

export function bytes(n: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let v = n;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return i === 0 ? `${n} B` : `${v.toFixed(1)} ${units[i]}`;
}

function when(t: WireTimestamp | null, now = Date.now()): string {
  if (!t) return '-';
  const ms = t.seconds * 1000 - now;
  const days = Math.abs(ms) / 86_400_000;
  const span = days >= 1 ? `${days.toFixed(1)} days` : `${Math.round(Math.abs(ms) / 60_000)} min`;
  return `${iso(t)} (${ms >= 0 ? `in ${span}` : `${span} ago`})`;
}

/** Two columns, labels padded to one width. */
export function block(rows: [string, string][]): string {
  const width = Math.max(...rows.map(([k]) => k.length));
  return rows.map(([k, v]) => `${k.padEnd(width)}  ${v}`).join('\n');
}

export function table(header: string[], rows: string[][]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (cells: string[]) =>
    cells
      .map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i])))
      .join('  ')
      .trimEnd();
  return [line(header), ...rows.map(line)].join('\n');
}

export function keyBlock(k: WireKey): string {
  const limit = k.data_limit_bytes
    ? `${bytes(k.data_limit_bytes)} per ${k.data_limit_reset.replace('LIMIT_RESET_', '').toLowerCase()}`
    : 'unlimited';
  return block([
    ['owner', k.owner_id],
    ['status', k.status],
    ['uuid', k.uuid],
    ['expires', when(k.subscription_end)],
    ['in the core', k.provisioned ? 'yes' : 'pending'],
    ['data limit', limit],
    ['used', `${bytes(k.used_uplink_bytes)} up, ${bytes(k.used_downlink_bytes)} down`],
    ['share link', k.vless_url],
    ['subscription', k.subscription_url || '(revoked)'],
  ]);
}

export function keyTable(keys: WireKey[]): string {
  return table(
    ['OWNER', 'STATUS', 'EXPIRES', 'CORE', 'UUID'],
    keys.map((k) => [
      k.owner_id,
      k.status,
      k.subscription_end ? iso(k.subscription_end) : '-',
      k.provisioned ? 'yes' : 'pending',
      k.uuid,
    ]),
  );
}

export function reportLine(r: WireReconcileReport): string {
  return (
    `added ${r.added}, removed ${r.removed}, expired ${r.expired}, failed ${r.failed}, ` +
    `unknown removed ${r.unknown_removed}${r.core_restart_detected ? ', core restart detected' : ''}` +
    `${r.core_reachable ? '' : ', core unreachable'}${r.dry_run ? ' (dry run: nothing changed)' : ''}`
  );
}

export function statusBlock(s: WireStatus): string {
  const up = s.core.uptime_seconds === undefined ? '' : `, up ${Math.round(s.core.uptime_seconds)} s`;
  const file = s.config_file.path
    ? `${s.config_file.path}, last written ${when(s.config_file.last_write_at)}, ${s.config_file.failures} failures` +
      (s.config_file.last_error ? ` (last: ${s.config_file.last_error})` : '')
    : 'not kept (XRAY_CONFIG_PATH unset)';
  return block([
    [
      'keys',
      `${s.keys.active} active, ${s.keys.suspended} suspended, ${s.keys.expired} expired, ${s.keys.revoked} revoked`,
    ],
    ['pending', `${s.pending_changes} changes the core has not confirmed`],
    [
      'core',
      `${s.core.reachable ? 'reachable' : 'UNREACHABLE'}: ${s.core.flavor} at ${s.core.api_addr}, inbound ` +
        `${s.core.inbound_tag}${up}, ${s.core.restarts_detected} restarts detected`,
    ],
    ['last pass', s.last_reconcile ? `${when(s.last_reconcile_at)}: ${reportLine(s.last_reconcile)}` : 'none yet'],
    ['config file', file],
  ]);
}

/** The node's link as the subscription builds it; an empty field follows the control plane's KEYD_LINK_* default. */
function linkLine(n: WireNode): string {
  const l = n.link;
  const parts = l
    ? (['security', 'type', 'flow', 'sni', 'pbk', 'sid', 'fp'] as const).filter((f) => l[f]).map((f) => `${f}=${l[f]}`)
    : [];
  return parts.length ? parts.join(' ') : "the control plane's defaults";
}

/** A node the control plane knows only through its agent's reports; the local one shows the same way. */
function coreLine(n: WireNode): string {
  if (!n.core_reachable) return 'UNREACHABLE';
  return `reachable, up ${n.core_uptime_seconds} s, ${n.core_restarts} restarts detected`;
}

function stateOf(n: WireNode): string {
  if (n.draining) return 'draining';
  if (!n.enabled) return 'disabled';
  return n.connected ? 'connected' : 'disconnected';
}

export function nodeBlock(n: WireNode): string {
  return block([
    ['node', `${n.name} (${n.kind}, group ${n.group})`],
    ['address', `${n.public_host}:${n.public_port}`],
    ['link', linkLine(n)],
    ['state', stateOf(n)],
    ['last seen', when(n.last_seen)],
    ['revision', `${n.acked_revision} acknowledged, ${n.revision_lag} behind`],
    ['pending', `${n.pending_keys} keys its core has not confirmed`],
    ['core', coreLine(n)],
  ]);
}

export function nodeTable(nodes: WireNode[]): string {
  return table(
    ['NAME', 'KIND', 'GROUP', 'ADDRESS', 'STATE', 'LAG', 'PENDING', 'CORE', 'RESTARTS', 'LAST SEEN'],
    nodes.map((n) => [
      n.name,
      n.kind,
      n.group,
      `${n.public_host}:${n.public_port}`,
      stateOf(n),
      String(n.revision_lag),
      String(n.pending_keys),
      n.core_reachable ? `up ${n.core_uptime_seconds} s` : 'UNREACHABLE',
      String(n.core_restarts),
      n.last_seen ? iso(n.last_seen) : '-',
    ]),
  );
}
