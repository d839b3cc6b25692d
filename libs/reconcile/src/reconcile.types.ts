export interface ReconcileReport {
  added: number;
  removed: number;
  expired: number;
  failed: number;
  unknownRemoved: number;
  durationMs: number;
  coreRestartDetected: boolean;
  coreReachable: boolean;
  dryRun: boolean;
}

export const emptyReport = (dryRun: boolean): ReconcileReport => ({
  added: 0,
  removed: 0,
  expired: 0,
  failed: 0,
  unknownRemoved: 0,
  durationMs: 0,
  coreRestartDetected: false,
  coreReachable: true,
  dryRun,
});

export type CoreStateEvent = 'restarted' | 'reconnected';
