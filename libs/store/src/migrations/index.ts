import { InitialSchema1764300000000 } from './1764300000000-initial-schema.migration';
import { CoreState1764310000000 } from './1764310000000-core-state.migration';
import { UsageLimits1764320000000 } from './1764320000000-usage-limits.migration';
import { DeviceLimit1764330000000 } from './1764330000000-device-limit.migration';
import { CountedKeys1764345000000 } from './1764345000000-counted-keys.migration';
import { Fleet1764360000000 } from './1764360000000-fleet.migration';
import { ConfigFileStamp1764370000000 } from './1764370000000-config-file-stamp.migration';
import { NodeCertificates1764380000000 } from './1764380000000-node-certificates.migration';
import { NodeUsage1764390000000 } from './1764390000000-node-usage.migration';
import { RevisionIndex1764400000000 } from './1764400000000-revision-index.migration';
import { ClaimedRevision1764410000000 } from './1764410000000-claimed-revision.migration';

export const migrations = [
  InitialSchema1764300000000,
  CoreState1764310000000,
  UsageLimits1764320000000,
  DeviceLimit1764330000000,
  CountedKeys1764345000000,
  Fleet1764360000000,
  ConfigFileStamp1764370000000,
  NodeCertificates1764380000000,
  NodeUsage1764390000000,
  RevisionIndex1764400000000,
  ClaimedRevision1764410000000,
];
