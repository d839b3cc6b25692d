import { LimitReset } from '@keyd/domain';

/** One owners-file row as read, text only; validation decides what it means. */
export interface ImportRowInput {
  line: number;
  ownerId: string;
  uuid: string;
  subscriptionEnd: string;
  dataLimitBytes: string;
  limitReset: string;
  /** Set by the reader when the line could not be read at all (bad JSON, wrong column count). */
  error?: string;
}

export interface ImportConfigClient {
  uuid: string;
  email: string;
}

export type OrphanPolicy = 'skip' | 'import' | 'revoke';

export interface ImportOptions {
  dryRun: boolean;
  orphans: OrphanPolicy;
  replace: boolean;
  skipInvalid: boolean;
  /** How long an orphan imported under `orphans: import` stays active. */
  orphanDurationSeconds: number;
}

export interface ImportIssue {
  line: number;
  ownerId: string;
  uuid: string;
  reason: string;
}

/** A row that passed validation. */
export interface ImportRow {
  line: number;
  ownerId: string;
  uuid: string;
  subscriptionEnd: Date;
  dataLimitBytes: number;
  limitReset: LimitReset;
}

export interface ImportReport {
  dryRun: boolean;
  rows: number;
  configClients: number;
  importedActive: number;
  importedExpired: number;
  healed: number;
  unchanged: number;
  conflicts: ImportIssue[];
  replaced: number;
  orphans: ImportIssue[];
  orphansImported: number;
  orphansRevoked: number;
  invalid: ImportIssue[];
  provisioned: number;
  provisionFailed: number;
  changes: number;
  durationMs: number;
}

export type ImportPhase = 'written' | 'provisioned';
export type ImportProgress = (phase: ImportPhase, done: number, total: number) => void;

export const emptyImportReport = (dryRun: boolean, rows: number, configClients: number): ImportReport => ({
  dryRun,
  rows,
  configClients,
  importedActive: 0,
  importedExpired: 0,
  healed: 0,
  unchanged: 0,
  conflicts: [],
  replaced: 0,
  orphans: [],
  orphansImported: 0,
  orphansRevoked: 0,
  invalid: [],
  provisioned: 0,
  provisionFailed: 0,
  changes: 0,
  durationMs: 0,
});
