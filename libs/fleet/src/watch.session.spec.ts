import { EventEmitter } from 'node:events';
import { ServerDuplexStream } from '@grpc/grpc-js';
import { KeyEvents } from '@keyd/keys';
import { AppLogger } from '@keyd/observability';
import { FleetRepository } from '@keyd/store';
import { FleetHub } from './fleet.hub';
import { FleetMetrics } from './fleet.metrics';
import { WireAgentMessage, WireControlMessage } from './fleet.protos';
import { agentNode } from './testing/node.fixture';
import { WatchSession } from './watch.session';

const node = (draining: boolean) => agentNode({ draining });

function session(draining: boolean) {
  const call = Object.assign(new EventEmitter(), { write: () => true, end: () => undefined });
  const onDrained = jest.fn();
  const log = { info: jest.fn(), warn: jest.fn(), error: jest.fn() } as unknown as AppLogger;
  new WatchSession(node(draining), call as unknown as ServerDuplexStream<WireAgentMessage, WireControlMessage>, {
    repo: {} as FleetRepository,
    hub: new FleetHub(new KeyEvents()),
    onUsage: jest.fn(),
    metrics: {} as FleetMetrics,
    log,
    onAck: jest.fn(),
    onDrained,
  }).run();
  return { call, onDrained };
}

describe('WatchSession drained', () => {
  it('deletes a node being drained once its agent confirms it is empty', () => {
    const { call, onDrained } = session(true);
    call.emit('data', { body: 'drained', drained: {} });
    expect(onDrained).toHaveBeenCalledTimes(1);
  });

  it('ignores a drained message from an agent whose node is not being deleted', () => {
    const { call, onDrained } = session(false);
    call.emit('data', { body: 'drained', drained: {} });
    expect(onDrained).not.toHaveBeenCalled();
  });
});
