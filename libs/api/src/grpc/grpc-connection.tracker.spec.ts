import { EventEmitter } from 'node:events';
import { ServerInterceptingCallInterface } from '@grpc/grpc-js';
import { GrpcConnectionTracker } from './grpc-connection.tracker';

class FakeSocket extends EventEmitter {
  destroyed = false;
  constructor(readonly remotePort: number) {
    super();
  }
  readonly remoteAddress = '127.0.0.1';
  destroy() {
    this.destroyed = true;
    this.emit('close');
  }
}

/** A call on the given socket, as far as the interceptor looks at it. */
function callOn(socket: FakeSocket) {
  let listener: { onCancel(): void } | undefined;
  const call = {
    getConnectionInfo: () => ({ remoteAddress: socket.remoteAddress, remotePort: socket.remotePort }),
    start: (l: { onCancel(): void }) => (listener = l),
    sendStatus: () => undefined,
  } as unknown as ServerInterceptingCallInterface;
  return { call, cancel: () => listener?.onCancel() };
}

describe('the gRPC connection tracker', () => {
  let now = 0;
  const tracker = () => new GrpcConnectionTracker(25_000, () => now);
  beforeEach(() => (now = 0));

  it('destroys a connection that never opened a call once the idle cut passes', () => {
    const t = tracker();
    const s = new FakeSocket(1);
    t.accepted(s);
    now = 24_999;
    t.sweep();
    expect(s.destroyed).toBe(false);
    now = 25_000;
    t.sweep();
    expect(s.destroyed).toBe(true);
    expect(t.size).toBe(0);
  });

  it('keeps a connection with an open call, and counts idle time from the end of its last call', () => {
    const t = tracker();
    const s = new FakeSocket(2);
    t.accepted(s);
    const { call } = callOn(s);
    const intercepted = t.interceptor()({} as never, call);
    intercepted.start({ onReceiveMetadata() {}, onReceiveMessage() {}, onReceiveHalfClose() {}, onCancel() {} });
    now = 100_000;
    t.sweep();
    expect(s.destroyed).toBe(false);
    intercepted.sendStatus({ code: 0, details: '' });
    now = 124_999;
    t.sweep();
    expect(s.destroyed).toBe(false);
    now = 125_000;
    t.sweep();
    expect(s.destroyed).toBe(true);
  });

  it('ends a cancelled call once, even when a status follows', () => {
    const t = tracker();
    const s = new FakeSocket(3);
    t.accepted(s);
    const first = callOn(s);
    const second = callOn(s);
    const a = t.interceptor()({} as never, first.call);
    const b = t.interceptor()({} as never, second.call);
    const listener = { onReceiveMetadata() {}, onReceiveMessage() {}, onReceiveHalfClose() {}, onCancel() {} };
    a.start(listener);
    b.start(listener);
    first.cancel();
    a.sendStatus({ code: 1, details: '' });
    now = 1_000_000;
    t.sweep();
    // The second call is still open: a double-counted end of the first would have freed the connection.
    expect(s.destroyed).toBe(false);
  });
});
