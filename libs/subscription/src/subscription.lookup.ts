import { Injectable } from '@nestjs/common';
import { KeyLinkBuilder } from '@keyd/keys';
import { KeyRepository } from '@keyd/store';
import { SubscriptionKey, SubscriptionLookup } from './subscription.types';

/** Tokens of revoked keys are cleared on revocation; a revoked key is refused here as well, in case. */
@Injectable()
export class StoreSubscriptionLookup implements SubscriptionLookup {
  constructor(
    private readonly keys: KeyRepository,
    private readonly links: KeyLinkBuilder,
  ) {}

  async findByToken(token: string): Promise<SubscriptionKey | null> {
    const key = await this.keys.findBySubscriptionToken(token);
    if (!key || key.status === 'REVOKED') return null;
    return {
      ownerId: key.ownerId,
      status: key.status,
      subscriptionEnd: key.subscriptionEnd,
      links: [this.links.vlessUrl(key)],
      uploadBytes: key.usage.uplinkBytes,
      downloadBytes: key.usage.downlinkBytes,
      totalBytes: key.dataLimitBytes,
    };
  }
}
