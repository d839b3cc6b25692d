import { Inject, Injectable } from '@nestjs/common';
import { KEYD_CONFIG, KeydConfig } from '@keyd/config';
import { Key } from '@keyd/domain';
import { KeyLinkBuilder } from '@keyd/keys';
import { FleetNodeRecord, FleetRepository, KeyRepository } from '@keyd/store';
import { SubscriptionKey, SubscriptionLookup, SubscriptionNode } from './subscription.types';

/** One node, with the parameters its share link carries. */
export function nodesOf(
  key: Pick<Key, 'uuid' | 'flow' | 'ownerId'>,
  link: KeydConfig['link'],
  vlessUrl: string,
): SubscriptionNode[] {
  const reality = link.security === 'reality' ? link.reality : undefined;
  return [
    {
      link: vlessUrl,
      remark: `${link.name}-${key.ownerId}`,
      host: link.host,
      port: link.port,
      security: link.security,
      transport: link.type,
      serverName: reality ? reality.sni : link.security === 'tls' ? (link.tlsSni ?? link.host) : '',
      fingerprint: reality?.fingerprint ?? '',
      ...(reality ? { reality: { publicKey: reality.publicKey, shortId: reality.shortId } } : {}),
    },
  ];
}

/**
 * An agent node's link: its own host and port, named after it, with its own
 * link parameters where it sets them and the control plane's otherwise.
 */
export function nodeLinkConfig(node: FleetNodeRecord, base: KeydConfig['link']): KeydConfig['link'] {
  const l = node.link;
  const security = (l.security || base.security) as KeydConfig['link']['security'];
  const reality =
    security === 'reality'
      ? {
          publicKey: l.pbk ?? base.reality?.publicKey ?? '',
          shortId: l.sid ?? base.reality?.shortId ?? '',
          sni: l.sni ?? base.reality?.sni ?? '',
          fingerprint: l.fp ?? base.reality?.fingerprint ?? 'chrome',
        }
      : undefined;
  return {
    host: node.publicHost,
    port: node.publicPort,
    security,
    type: l.type || base.type,
    name: node.name,
    tlsSni: l.sni ?? base.tlsSni,
    reality,
  };
}

/** Tokens of revoked keys are cleared on revocation; a revoked key is refused here as well, in case. */
@Injectable()
export class StoreSubscriptionLookup implements SubscriptionLookup {
  constructor(
    private readonly keys: KeyRepository,
    private readonly links: KeyLinkBuilder,
    private readonly fleet: FleetRepository,
    @Inject(KEYD_CONFIG) private readonly config: Pick<KeydConfig, 'link'>,
  ) {}

  async findByToken(token: string): Promise<SubscriptionKey | null> {
    const key = await this.keys.findBySubscriptionToken(token);
    if (!key || key.status === 'REVOKED') return null;
    return {
      ownerId: key.ownerId,
      uuid: key.uuid,
      flow: key.flow,
      status: key.status,
      subscriptionEnd: key.subscriptionEnd,
      nodes: await this.nodes(key),
      uploadBytes: key.usage.uplinkBytes,
      downloadBytes: key.usage.downlinkBytes,
      totalBytes: key.dataLimitBytes,
    };
  }

  /** The control plane's own node first, then each enabled agent node of the key's group. */
  private async nodes(key: Key): Promise<SubscriptionNode[]> {
    const agents = (await this.fleet.list()).filter(
      (n) => n.kind === 'agent' && n.group === key.nodeGroup && n.enabled && !n.draining,
    );
    return [
      ...nodesOf(key, this.config.link, this.links.vlessUrl(key)),
      ...agents.flatMap((n) => {
        const link = nodeLinkConfig(n, this.config.link);
        return nodesOf(key, link, this.links.vlessUrl(key, link));
      }),
    ];
  }
}
