import { Controller, Inject } from '@nestjs/common';
import { GrpcStreamCall } from '@nestjs/microservices';
import { ServerDuplexStream } from '@grpc/grpc-js';
import { KEYD_CONFIG, KeydConfig } from '@keyd/config';
import { DomainError, InvalidArgumentError, UnauthenticatedError } from '@keyd/domain';
import {
  ImportConfigClient,
  ImportOptions,
  ImportReport,
  ImportRowInput,
  ImportService,
  OrphanPolicy,
} from '@keyd/keys';
import { AppLogger, InFlight, liftHeapCap, LOGGER, MALFORMED } from '@keyd/observability';
import { bearerToken, tokenMatches } from '../auth/token.compare';
import { ERROR_CATALOG } from '../errors/error.catalog';
import {
  ImportKeysRequest,
  ImportKeysResponse,
  ImportReport as ProtoImportReport,
  OrphanPolicy as ProtoOrphanPolicy,
} from './generated/keyd/v1/keyd.pb';

/** Far more than any node holds; a bound on what one call may make the daemon keep in memory. */
const MAX_ROWS = 1_000_000;
const ORPHANS: Record<ProtoOrphanPolicy, OrphanPolicy | undefined> = {
  ORPHANS_SKIP: 'skip',
  ORPHANS_IMPORT: 'import',
  ORPHANS_REVOKE: 'revoke',
  UNRECOGNIZED: undefined,
};
const THIRTY_DAYS = 30 * 86_400;

const issues = (list: ImportReport['conflicts']) =>
  list.map((i) => ({ line: i.line, owner_id: i.ownerId, uuid: i.uuid, reason: i.reason }));

export function toProtoImportReport(r: ImportReport): ProtoImportReport {
  return {
    dry_run: r.dryRun,
    rows: r.rows,
    config_clients: r.configClients,
    imported_active: r.importedActive,
    imported_expired: r.importedExpired,
    healed: r.healed,
    unchanged: r.unchanged,
    conflicts: issues(r.conflicts),
    replaced: r.replaced,
    orphans: issues(r.orphans),
    orphans_imported: r.orphansImported,
    orphans_revoked: r.orphansRevoked,
    invalid: issues(r.invalid),
    provisioned: r.provisioned,
    provision_failed: r.provisionFailed,
    changes: r.changes,
    duration: { seconds: Math.floor(r.durationMs / 1000), nanos: (r.durationMs % 1000) * 1e6 },
  };
}

/**
 * ImportKeys is a bidirectional stream: Nest's guards, interceptors and
 * filters don't reach a raw stream call, so this handler checks the token,
 * refuses undecodable messages and maps errors itself, with the same rules
 * and the same catalog as every other call.
 */
@Controller()
export class ImportGrpcController {
  constructor(
    private readonly imports: ImportService,
    private readonly inFlight: InFlight,
    @Inject(KEYD_CONFIG) private readonly config: Pick<KeydConfig, 'grpc'>,
    @Inject(LOGGER) private readonly log: AppLogger,
  ) {}

  @GrpcStreamCall('KeyManager', 'ImportKeys')
  importKeys(call: ServerDuplexStream<ImportKeysRequest, ImportKeysResponse>): Promise<void> {
    return new Promise<void>((resolve) => {
      let settled = false;
      let restoreHeapCap: () => void = () => undefined;
      const finish = (error?: unknown) => {
        if (settled) return;
        settled = true;
        restoreHeapCap();
        if (error !== undefined) call.emit('error', this.status(error));
        else if (!call.cancelled) call.end();
        resolve();
      };
      const expected = this.config.grpc.apiToken;
      if (expected && !tokenMatches(bearerToken(call.metadata.get('authorization')[0]?.toString()), expected))
        return finish(new UnauthenticatedError());
      // While rows stream in and the import runs, they are a large live set.
      restoreHeapCap = liftHeapCap();
      let options: ImportOptions | undefined;
      const rows: ImportRowInput[] = [];
      const clients: ImportConfigClient[] = [];
      call.on('data', (m: ImportKeysRequest) => {
        if (settled) return;
        if (MALFORMED in m) return finish(new InvalidArgumentError('request', 'not a valid protobuf message'));
        if (!options) options = this.options(m.options);
        for (const r of m.owners) {
          rows.push({
            line: r.line,
            ownerId: r.owner_id,
            uuid: r.uuid,
            subscriptionEnd: r.subscription_end,
            dataLimitBytes: r.data_limit_bytes,
            limitReset: r.data_limit_reset,
            error: r.error || undefined,
          });
        }
        clients.push(...m.config_clients);
        if (rows.length + clients.length > MAX_ROWS)
          finish(new InvalidArgumentError('owners', `at most ${MAX_ROWS} rows and clients in one import`));
      });
      call.on('error', () => finish());
      // A client that goes away mid-upload never sends 'end'; one that goes away mid-import
      // must not be written to. grpc-js says so with 'cancelled', not 'error'.
      call.on('cancelled', () => finish());
      call.on('end', () => {
        if (settled) return;
        const leave = this.inFlight.enter();
        // A client that goes away does not stop the import: it keeps the cap lifted until it is done.
        const running = liftHeapCap();
        this.imports
          .run({ rows, clients, options: options ?? this.options(null) }, (phase, done, total) => {
            if (!settled) call.write({ progress: { phase, done, total } });
          })
          .then((report) => {
            if (!settled) call.write({ report: toProtoImportReport(report) });
            finish();
          })
          .catch((e: unknown) => finish(e))
          .finally(() => {
            running();
            leave();
          });
      });
    });
  }

  private options(o: ImportKeysRequest['options'] | null): ImportOptions {
    return {
      dryRun: o?.dry_run === true,
      orphans: ORPHANS[o?.orphans ?? 'ORPHANS_SKIP'] ?? 'skip',
      replace: o?.replace === true,
      skipInvalid: o?.skip_invalid === true,
      orphanDurationSeconds: o?.orphan_duration_seconds || THIRTY_DAYS,
    };
  }

  private status(e: unknown): { code: number; details: string } {
    if (e instanceof DomainError) return { code: ERROR_CATALOG[e.code].grpc, details: e.message };
    this.log.error({ err: e }, 'import failed');
    return { code: ERROR_CATALOG.INTERNAL.grpc, details: 'internal error' };
  }
}
