import { Inject, Injectable } from '@nestjs/common';
import { KEYD_CONFIG, KeydConfig } from '@keyd/config';
import { GrantAction, Key, KeyNodeState } from '@keyd/domain';
import { GrantCommand, GrantService } from '@keyd/keys';
import { FleetHub } from './fleet.hub';
import { KeyNodes } from './key-nodes.service';
import { NodeDirectory } from './node.directory';

/**
 * GrantAccess across the fleet: the grant commits and reaches the local core
 * as always, then the answer waits for the connected agents of the key's
 * group to acknowledge it, up to KEYD_GRANT_NODE_WAIT_MS. A node that is not
 * connected is not waited for; it shows unprovisioned in `nodes`.
 */
@Injectable()
export class FleetGrants {
  constructor(
    private readonly grants: GrantService,
    private readonly directory: NodeDirectory,
    private readonly hub: FleetHub,
    private readonly keyNodes: KeyNodes,
    @Inject(KEYD_CONFIG) private readonly config: Pick<KeydConfig, 'fleet'>,
  ) {}

  async grant(cmd: GrantCommand): Promise<{ key: Key & { nodes: KeyNodeState[] }; action: GrantAction }> {
    const r = await this.grants.grant(cmd);
    const agents = await this.directory.ofGroup(r.key.nodeGroup);
    // The grant's key event already kicked the agent links (FleetSyncServer listens for it).
    if (agents.length) await this.hub.waitFor(agents, r.key.rev, this.config.fleet.grantWaitMs);
    return { key: await this.keyNodes.of(r.key), action: r.action };
  }
}
