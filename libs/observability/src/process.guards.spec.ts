import { EventEmitter } from 'node:events';
import { Writable } from 'node:stream';
import pino from 'pino';
import { installProcessGuards } from './process.guards';

function setup() {
  const lines: Record<string, unknown>[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _enc, done) {
      lines.push(JSON.parse(chunk.toString()) as Record<string, unknown>);
      done();
    },
  });
  const proc = Object.assign(new EventEmitter(), { exit: jest.fn() });
  installProcessGuards(pino(sink), proc as unknown as NodeJS.Process);
  return { proc, lines };
}

describe('installProcessGuards', () => {
  it('logs an unhandled rejection with its stack and keeps the process running', async () => {
    const { proc, lines } = setup();
    proc.emit('unhandledRejection', new Error('nobody awaited this'));
    await new Promise((r) => setImmediate(r));
    expect(proc.exit).not.toHaveBeenCalled();
    expect(lines).toHaveLength(1);
    const err = lines[0]['err'] as { message: string; stack: string };
    expect(err.message).toBe('nobody awaited this');
    expect(err.stack).toContain('process.guards.spec');
  });

  it('logs an uncaught exception and exits non-zero', async () => {
    const { proc, lines } = setup();
    proc.emit('uncaughtException', new Error('state unknown'));
    await new Promise((r) => setImmediate(r));
    expect(proc.exit).toHaveBeenCalledWith(1);
    expect((lines[0]['err'] as { message: string }).message).toBe('state unknown');
  });
});
