import { EventEmitter } from 'node:events';
import { ServerDuplexStream } from '@grpc/grpc-js';
import { KeyEvents } from '@keyd/keys';
import { AppLogger, MALFORMED } from '@keyd/observability';
import { FleetRepository } from '@keyd/store';
import { FleetHub } from './fleet.hub';
import { FleetMetrics } from './fleet.metrics';
import { WireAgentMessage, WireControlMessage } from './fleet.protos';
import { agentNode } from './testing/node.fixture';
import { WatchSession } from './watch.session';

const node = (draining: boolean) => agentNode({ draining });

function session(draining: boolean, onUsage: jest.Mock = jest.fn(), repo = {} as FleetRepository) {
  const written: WireControlMessage[] = [];
  const call = Object.assign(new EventEmitter(), {
    write: (m: WireControlMessage) => written.push(m) > 0,
    end: () => undefined,
  });
  const onDrained = jest.fn();
  const log = { info: jest.fn(), warn: jest.fn(), error: jest.fn() } as unknown as AppLogger;
  const hub = new FleetHub(new KeyEvents());
  new WatchSession(node(draining), call as unknown as ServerDuplexStream<WireAgentMessage, WireControlMessage>, {
    repo,
    hub,
    onUsage,
    metrics: {} as FleetMetrics,
    log,
    onAck: jest.fn(),
    onDrained,
  }).run();
  return { call, onDrained, hub, written };
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

describe('WatchSession hello', () => {
  const settle = () => new Promise((r) => setImmediate(r));

  it('refuses an agent whose node was deleted after its certificate was checked, and never serves it', async () => {
    const repo = { byId: jest.fn(async () => null) } as unknown as FleetRepository;
    const { call, hub, written } = session(false, jest.fn(), repo);
    const errors: { code: number }[] = [];
    call.on('error', (e: { code: number }) => errors.push(e));
    call.emit('data', { body: 'hello', hello: { since_revision: 0 } });
    await settle();
    expect(errors).toEqual([expect.objectContaining({ code: 16 })]);
    expect(hub.isConnected(agentNode({}).id)).toBe(false);
    expect(written).toEqual([]);
  });

  it('serves the node as it is at the hello: one being deleted meanwhile is told to drain', async () => {
    const repo = { byId: jest.fn(async () => agentNode({ draining: true })) } as unknown as FleetRepository;
    const { call, hub, written } = session(false, jest.fn(), repo);
    call.emit('data', { body: 'hello', hello: { since_revision: 0 } });
    await settle();
    expect(hub.isConnected(agentNode({}).id)).toBe(true);
    expect(written).toEqual([{ drain: {} }]);
  });

  it('refuses bytes that are not an agent message with INVALID_ARGUMENT, and serves nothing', async () => {
    const repo = { byId: jest.fn(async () => agentNode({})) } as unknown as FleetRepository;
    const { call, hub, written } = session(false, jest.fn(), repo);
    const errors: { code: number }[] = [];
    call.on('error', (e: { code: number }) => errors.push(e));
    call.emit('data', { [MALFORMED]: 'field 1 has wire type 7' });
    call.emit('data', { body: 'hello', hello: { since_revision: 0 } });
    await settle();
    expect(errors).toEqual([expect.objectContaining({ code: 3 })]);
    expect(hub.isConnected(agentNode({}).id)).toBe(false);
    expect(written).toEqual([]);
  });
});
