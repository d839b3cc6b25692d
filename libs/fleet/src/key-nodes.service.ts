import { Inject, Injectable } from '@nestjs/common';
import { Key, KeyNodeState } from '@keyd/domain';
import { CURRENT_NODE, NodeRecord } from '@keyd/store';
import { FleetHub } from './fleet.hub';
import { NodeDirectory } from './node.directory';

/**
 * Which nodes hold a key: the control plane's own core, whose state is the
 * key's `provisioned`, and every enabled agent node of the key's group, which
 * holds it once it acknowledged the key's revision. `provisioned` is true only
 * when every one of them does.
 */
@Injectable()
export class KeyNodes {
  constructor(
    private readonly directory: NodeDirectory,
    private readonly hub: FleetHub,
    @Inject(CURRENT_NODE) private readonly local: NodeRecord,
  ) {}

  async of<K extends Key>(key: K): Promise<K & { nodes: KeyNodeState[] }> {
    const agents = await this.directory.ofGroup(key.nodeGroup);
    const nodes: KeyNodeState[] = [
      { name: this.local.name, provisioned: key.provisioned },
      ...agents.map((n) => ({ name: n.name, provisioned: this.hub.holds(n, key.rev) })),
    ];
    return { ...key, provisioned: nodes.every((n) => n.provisioned), nodes };
  }
}
