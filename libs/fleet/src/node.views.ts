import { FleetNodeRecord, NewFleetNode } from '@keyd/store';

/** A node as the APIs show it: its record and how it is doing. */
export interface NodeView extends NewFleetNode {
  kind: FleetNodeRecord['kind'];
  connected: boolean;
  lastSeen: Date | null;
  ackedRevision: number;
  revisionLag: number;
  pendingKeys: number;
  coreReachable: boolean;
  coreUptimeSeconds: number;
  coreRestarts: number;
  draining: boolean;
}

export interface CreatedNode {
  node: NodeView;
  /** Shown once; only its digest is stored. */
  joinToken: string;
}
