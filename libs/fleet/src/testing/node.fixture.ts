import { FleetNodeRecord } from '@keyd/store';

/** An agent node as the store returns it, for specs that need one. */
export const agentNode = (over: Partial<FleetNodeRecord> = {}): FleetNodeRecord => ({
  id: 7,
  name: 'node-b',
  kind: 'agent',
  group: '',
  publicHost: '127.0.0.1',
  publicPort: 443,
  link: {},
  enabled: true,
  draining: false,
  ackedRev: 0,
  resyncRev: 0,
  lastSeenAt: null,
  createdAt: new Date(0),
  updatedAt: new Date(0),
  ...over,
});
