import { AppLogger } from '@keyd/observability';
import { FleetNodeRecord, FleetRepository } from '@keyd/store';
import { WatchSessions } from './watch-session.factory';
import { agentNode } from './testing/node.fixture';

const node = (id: number) => agentNode({ id, name: `node-${id}` });

describe('WatchSessions acknowledgements', () => {
  const written: [number, number][] = [];
  let release: () => void = () => undefined;
  const repo = {
    recordAck: (id: number, rev: number) =>
      new Promise<void>((resolve) => {
        written.push([id, rev]);
        release = resolve;
      }),
  } as unknown as FleetRepository;
  const log = { info: jest.fn(), warn: jest.fn(), error: jest.fn() } as unknown as AppLogger;
  const server = new WatchSessions(repo, {} as never, {} as never, {} as never, {} as never, log);
  const persistAck = (n: FleetNodeRecord, rev: number) => server['persistAck'](n, rev);
  const settle = async () => {
    for (let i = 0; i < 10; i++) {
      release();
      await new Promise((r) => setImmediate(r));
    }
  };

  it('writes the latest of a burst, then holds nothing for nodes that come and go', async () => {
    for (let id = 1; id <= 50; id++) {
      persistAck(node(id), 1);
      persistAck(node(id), 3);
      persistAck(node(id), 2);
      await settle();
    }
    // Each node: its first ack, then the latest while that one was being written, never an older one last.
    expect(written.filter(([id]) => id === 50)).toEqual([
      [50, 1],
      [50, 3],
    ]);
    expect(server['acking'].size).toBe(0);
  });
});
