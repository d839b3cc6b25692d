import { EventEmitter } from 'node:events';
import { Metadata, ServerDuplexStream } from '@grpc/grpc-js';
import { ImportReport, ImportService } from '@keyd/keys';
import { AppLogger, InFlight } from '@keyd/observability';
import { ImportGrpcController } from './import.grpc.controller';
import { ImportKeysRequest, ImportKeysResponse } from './generated/keyd/v1/keyd.pb';

type Progress = (phase: string, done: number, total: number) => void;

function fakeCall() {
  const call = Object.assign(new EventEmitter(), {
    metadata: new Metadata(),
    cancelled: false,
    write: jest.fn(),
    end: jest.fn(),
  });
  // What grpc-js does when the client goes away: 'cancelled', never 'end' or 'error'.
  const cancel = () => {
    call.cancelled = true;
    call.emit('cancelled', 'cancelled');
  };
  return { call, cancel, stream: call as unknown as ServerDuplexStream<ImportKeysRequest, ImportKeysResponse> };
}

function controller(run: jest.Mock) {
  const inFlight = new InFlight();
  const c = new ImportGrpcController(
    { run } as unknown as ImportService,
    inFlight,
    { grpc: { apiToken: undefined } } as never,
    { error: jest.fn() } as unknown as AppLogger,
  );
  return { c, inFlight };
}

describe('ImportGrpcController', () => {
  it('finishes when the client cancels mid-upload, without running the import', async () => {
    const run = jest.fn();
    const { c } = controller(run);
    const { call, cancel, stream } = fakeCall();
    const handled = c.importKeys(stream);
    call.emit('data', { owners: [], config_clients: [] });
    cancel();
    await expect(handled).resolves.toBeUndefined();
    expect(run).not.toHaveBeenCalled();
    expect(call.end).not.toHaveBeenCalled();
  });

  it('writes nothing to a client that cancelled while the import ran, and leaves in-flight when it ends', async () => {
    let progress: Progress = () => undefined;
    let done: (r: ImportReport) => void = () => undefined;
    const run = jest.fn((_input: unknown, onProgress: Progress) => {
      progress = onProgress;
      return new Promise<ImportReport>((resolve) => (done = resolve));
    });
    const { c, inFlight } = controller(run);
    const { call, cancel, stream } = fakeCall();
    const handled = c.importKeys(stream);
    call.emit('end');
    expect(inFlight.current).toBe(1);
    progress('written', 1, 2);
    expect(call.write).toHaveBeenCalledTimes(1);
    cancel();
    await expect(handled).resolves.toBeUndefined();
    progress('written', 2, 2);
    done({ conflicts: [], orphans: [], invalid: [], durationMs: 0 } as unknown as ImportReport);
    await new Promise((r) => setImmediate(r));
    expect(call.write).toHaveBeenCalledTimes(1);
    expect(call.end).not.toHaveBeenCalled();
    expect(inFlight.current).toBe(0);
  });
});
