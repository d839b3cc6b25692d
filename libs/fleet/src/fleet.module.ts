import { Module } from '@nestjs/common';
import { KEYD_CONFIG } from '@keyd/config';
import { KeysModule } from '@keyd/keys';
import { ReconcileModule } from '@keyd/reconcile';
import { CURRENT_NODE } from '@keyd/store';
import { AgentLink } from './agent.link';
import { FleetGrants } from './fleet-grants.service';
import { FleetAuthority } from './fleet.authority';
import { FleetHub } from './fleet.hub';
import { FleetMetrics } from './fleet.metrics';
import { KeyNodes } from './key-nodes.service';
import { NodeDirectory } from './node.directory';
import { NodeUsageService } from './node-usage.service';
import { NodeService } from './node.service';
import { NodeSupport } from './node.support';
import { REPLICA_TARGET, ReplicaApplier, replicaTarget } from './replica.applier';
import { FleetSyncServer } from './sync.server';
import { WatchSessions } from './watch-session.factory';

/** The control plane's side: nodes, the agent link, grants that wait for the nodes, keys' node lists, nodes' usage. */
@Module({
  imports: [KeysModule, ReconcileModule],
  providers: [
    FleetAuthority,
    FleetHub,
    FleetMetrics,
    NodeDirectory,
    NodeService,
    NodeSupport,
    KeyNodes,
    FleetGrants,
    NodeUsageService,
    WatchSessions,
    FleetSyncServer,
  ],
  exports: [NodeService, KeyNodes, FleetGrants],
})
export class FleetControlModule {}

/** An agent's side: follow the control plane into the local copy, and enforce it on the local core. */
@Module({
  imports: [KeysModule, ReconcileModule],
  providers: [
    { provide: REPLICA_TARGET, useFactory: replicaTarget, inject: [CURRENT_NODE, KEYD_CONFIG] },
    ReplicaApplier,
    AgentLink,
  ],
})
export class FleetAgentModule {}
