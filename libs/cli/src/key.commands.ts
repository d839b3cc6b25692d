import { Command, InvalidArgumentError, Option } from 'commander';
import QRCode from 'qrcode';
import { CliContext } from './cli.context';
import { EXIT, CliError } from './exit.codes';
import { keyBlock, keyTable, reportLine, statusBlock, toJson } from './output.format';
import { WireGrant, WireKey, WireReconcileReport, WireStatus } from './wire.types';

type Run = (ctx: CliContext, ...args: unknown[]) => Promise<void>;
export type Bind = (run: Run) => (...args: unknown[]) => Promise<void>;

export function positiveInt(value: string): number {
  if (!/^\d+$/.test(value) || Number(value) <= 0 || !Number.isSafeInteger(Number(value)))
    throw new InvalidArgumentError('must be a positive whole number');
  return Number(value);
}

export function wholeNumber(value: string): number {
  if (!/^\d+$/.test(value) || !Number.isSafeInteger(Number(value)))
    throw new InvalidArgumentError('must be a whole number, 0 or more');
  return Number(value);
}

const STATUSES = ['ACTIVE', 'EXPIRED', 'REVOKED', 'SUSPENDED'];
const RESETS = ['none', 'day', 'week', 'month'];
const PAGE = 1000;

interface GrantOptions {
  days?: number;
  seconds?: number;
  dataLimit?: number;
  limitReset?: string;
  requestId?: string;
}

/** grant, revoke, get, list, status, reconcile: one gRPC call each (list pages through). */
export function keyCommands(program: Command, bind: Bind): void {
  program
    .command('grant')
    .description('issue a key for the owner, or renew their live key')
    .argument('<owner>', 'owner id')
    .option('--days <n>', 'duration in days', positiveInt)
    .option('--seconds <n>', 'duration in seconds', positiveInt)
    .option('--data-limit <bytes>', 'bytes per usage period; 0 is unlimited', wholeNumber)
    .addOption(new Option('--limit-reset <period>', 'when usage returns to zero').choices(RESETS))
    .option('--request-id <id>', 'makes a retry safe: the same id never extends twice')
    .action(
      bind(async (ctx, owner, opts) => {
        const o = opts as GrantOptions;
        if ((o.days === undefined) === (o.seconds === undefined))
          throw new CliError('give exactly one of --days N or --seconds N', EXIT.BAD_ARGUMENTS);
        const r = await ctx.keyd().call<WireGrant>('GrantAccess', {
          owner_id: owner,
          duration_seconds: o.seconds ?? (o.days as number) * 86_400,
          request_id: o.requestId ?? '',
          ...(o.dataLimit !== undefined ? { data_limit_bytes: o.dataLimit } : {}),
          ...(o.limitReset ? { data_limit_reset: `LIMIT_RESET_${o.limitReset.toUpperCase()}` } : {}),
        });
        ctx.print(toJson(r), () => `${r.action} ${String(owner)}\n${keyBlock(r.key)}`);
      }),
    );

  program
    .command('revoke')
    .description("revoke the owner's key and remove it from the core")
    .argument('<owner>', 'owner id')
    .action(
      bind(async (ctx, owner) => {
        const k = await ctx.keyd().call<WireKey>('RevokeAccess', { owner_id: owner });
        ctx.print(toJson(k), () => keyBlock(k));
      }),
    );

  program
    .command('get')
    .description("the owner's key, its share link and subscription URL")
    .argument('<owner>', 'owner id')
    .option('--qr', 'also print the share link as a QR code')
    .action(
      bind(async (ctx, owner, opts) => {
        const k = await ctx.keyd().call<WireKey>('GetKey', { owner_id: owner });
        const qr = (opts as { qr?: boolean }).qr
          ? await QRCode.toString(k.vless_url, { type: 'terminal', small: true })
          : '';
        ctx.print(toJson(qr ? { ...k, qr } : k), () => `${keyBlock(k)}${qr ? `\n\n${qr}` : ''}`);
      }),
    );

  program
    .command('list')
    .description('keys, oldest first')
    .addOption(new Option('--status <status>', 'only keys in this status').choices(STATUSES))
    .option('--limit <n>', 'at most this many keys', positiveInt, 100)
    .action(
      bind(async (ctx, opts) => {
        const o = opts as { status?: string; limit: number };
        const keys: WireKey[] = [];
        let page_token = '';
        do {
          const page = await ctx.keyd().call<{ keys: WireKey[]; next_page_token: string }>('ListKeys', {
            page_size: Math.min(PAGE, o.limit - keys.length),
            page_token,
            status: o.status ?? 'KEY_STATUS_UNSPECIFIED',
          });
          keys.push(...page.keys);
          page_token = page.next_page_token;
        } while (page_token && keys.length < o.limit);
        ctx.print(toJson({ keys }), () => (keys.length ? keyTable(keys) : 'no keys'));
      }),
    );

  program
    .command('status')
    .description('keys by status, the core, the last reconcile pass and the config file')
    .action(
      bind(async (ctx) => {
        const s = await ctx.keyd().call<WireStatus>('GetStatus', {});
        ctx.print(toJson(s), () => statusBlock(s));
      }),
    );

  program
    .command('reconcile')
    .description('converge the core to the database now')
    .option('--dry-run', 'report what would change, change nothing')
    .action(
      bind(async (ctx, opts) => {
        const r = await ctx
          .keyd()
          .call<WireReconcileReport>('Reconcile', { dry_run: (opts as { dryRun?: boolean }).dryRun === true });
        ctx.print(toJson(r), () => reportLine(r));
      }),
    );
}
