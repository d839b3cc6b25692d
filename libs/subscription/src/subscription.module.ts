import { Module } from '@nestjs/common';
import { KeysModule } from '@keyd/keys';
import { StoreSubscriptionLookup } from './subscription.lookup';
import { SubscriptionServer } from './subscription.server';
import { SUBSCRIPTION_LOOKUP } from './subscription.types';

@Module({
  imports: [KeysModule],
  providers: [SubscriptionServer, { provide: SUBSCRIPTION_LOOKUP, useClass: StoreSubscriptionLookup }],
})
export class SubscriptionModule {}
