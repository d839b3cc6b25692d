import { Inject, Injectable } from '@nestjs/common';
import { KEYD_CONFIG, KeydConfig } from '@keyd/config';
import { Key, KeyView } from '@keyd/domain';
import { KeyLinkBuilder } from './key-link.builder';

/** What callers see of a key: the record plus the links built from the public endpoints. */
@Injectable()
export class KeyViews {
  constructor(
    private readonly links: KeyLinkBuilder,
    @Inject(KEYD_CONFIG) private readonly config: Pick<KeydConfig, 'subscription'>,
  ) {}

  of(key: Key): KeyView {
    return { ...key, vlessUrl: this.links.vlessUrl(key), subscriptionUrl: this.subscriptionUrl(key.subscriptionToken) };
  }

  subscriptionUrl(token: string | null): string {
    return token ? `${this.config.subscription.publicUrl}/sub/${token}` : '';
  }
}
