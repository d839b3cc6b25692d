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

function session(draining: boolean, onUsage: jest.Mock = jest.fn()) {
  const call = Object.assign(new EventEmitter(), { write: () => true, end: () => undefined });
  const onDrained = jest.fn();
  const log = { info: jest.fn(), warn: jest.fn(), error: jest.fn() } as unknown as AppLogger;
  new WatchSession(node(draining), call as unknown as ServerDuplexStream<WireAgentMessage, WireControlMessage>, {
    repo: {} as FleetRepository,
    hub: new FleetHub(new KeyEvents()),
    onUsage,
    metrics: {} as FleetMetrics,
    log,
    onAck: jest.fn(),
    onDrained,
  }).run();
  return { call, onDrained };
}

describe('WatchSession drained', () => {
  const settle = () => new Promise((r) => setImmediate(r));

  it('deletes a node being drained once its agent confirms it is empty', async () => {
    const { call, onDrained } = session(true);
    call.emit('data', { body: 'drained', drained: {} });
    await settle();
    expect(onDrained).toHaveBeenCalledTimes(1);
  });

  it('applies the usage the agent sent before it drained, then deletes the node', async () => {
    let applied: (ack: unknown) => void = () => undefined;
    const onUsage = jest.fn(() => new Promise((r) => (applied = r)));
    const { call, onDrained } = session(true, onUsage);
    call.emit('data', {
      body: 'usage',
      usage: { stream: 'ab', entries: [{ id: 1, uuid: 'u', uplink: 1, downlink: 2 }] },
    });
    call.emit('data', { body: 'drained', drained: {} });
    await settle();
    expect(onUsage).toHaveBeenCalledTimes(1);
    expect(onDrained).not.toHaveBeenCalled();
    applied({ stream: 'ab', up_to_id: 1 });
    await settle();
    await settle();
    expect(onDrained).toHaveBeenCalledTimes(1);
  });

  it('ignores a drained message from an agent whose node is not being deleted', async () => {
    const { call, onDrained } = session(false);
    call.emit('data', { body: 'drained', drained: {} });
    await settle();
    expect(onDrained).not.toHaveBeenCalled();
  });
});
