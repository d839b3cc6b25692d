import { ChildProcess, spawn } from 'child_process';
import * as net from 'net';
import { Readable } from 'stream';
import * as vm from 'vm';
import { LOOPBACK } from './ports.harness';

/*
 * Jest hands every test file a *copy* of `process`; listeners added to the
 * copy never fire when the worker exits. The vm escape reaches the real
 * process object, which is also where the registry lives, so all test files
 * in one worker share one registry and one exit hook instead of piling up
 * listeners.
 */
function realProcess(): NodeJS.Process {
  try {
    const candidate: unknown = vm.runInThisContext('process');
    if (typeof candidate === 'object' && candidate !== null && typeof (candidate as NodeJS.Process).on === 'function') {
      return candidate as NodeJS.Process;
    }
  } catch {
    // Outside a vm sandbox the plain global is already the real process.
  }
  return process;
}

interface RegistryState {
  children: Set<ChildProcess>;
  reaper: ChildProcess | undefined;
}

const STATE_KEY = Symbol.for('keyd.test-harness.processes');

function registry(): RegistryState {
  const host = realProcess() as unknown as Record<symbol, RegistryState | undefined>;
  let state = host[STATE_KEY];
  if (state === undefined) {
    const created: RegistryState = { children: new Set(), reaper: undefined };
    state = created;
    host[STATE_KEY] = created;
    realProcess().on('exit', () => {
      for (const child of created.children) {
        sendSignal(child, 'SIGKILL');
      }
    });
  }
  return state;
}

/*
 * An 'exit' hook cannot run when the jest worker itself is SIGKILLed or
 * SIGTERMed (jest does both on shutdown and on worker timeouts). The reaper
 * is a separate tiny process that holds the read end of a pipe from us; when
 * we die for any reason the pipe hits EOF and it SIGKILLs whatever pids are
 * still registered. It ignores SIGINT/SIGHUP so a Ctrl-C of the test run
 * still lets it clean up stopped (SIGSTOPped) children that ignore SIGINT.
 */
const REAPER_SOURCE = `
const pids = new Set();
let buf = '';
process.on('SIGINT', () => {});
process.on('SIGHUP', () => {});
const reap = () => {
  for (const pid of pids) { try { process.kill(pid, 'SIGKILL'); } catch {} }
  process.exit(0);
};
process.stdin.setEncoding('utf8');
process.stdin.on('data', (chunk) => {
  buf += chunk;
  let nl;
  while ((nl = buf.indexOf('\\n')) >= 0) {
    const line = buf.slice(0, nl);
    buf = buf.slice(nl + 1);
    const pid = Number(line.slice(1));
    if (!Number.isInteger(pid) || pid <= 0) continue;
    if (line[0] === '+') pids.add(pid); else pids.delete(pid);
  }
});
process.stdin.on('end', reap);
process.stdin.on('error', reap);
`;

function reaper(state: RegistryState): ChildProcess | undefined {
  if (state.reaper !== undefined && !hasExited(state.reaper)) {
    return state.reaper;
  }
  const child = spawn(realProcess().execPath, ['-e', REAPER_SOURCE], {
    stdio: ['pipe', 'ignore', 'ignore'],
  });
  child.on('error', () => undefined);
  child.stdin?.on('error', () => undefined);
  // Unreferenced so the reaper never keeps jest from exiting on its own.
  child.unref();
  (child.stdin as unknown as net.Socket | null)?.unref();
  state.reaper = child;
  return child;
}

function tellReaper(state: RegistryState, line: string): void {
  // Forgetting a pid must never be the reason a fresh reaper gets spawned.
  const target = line.startsWith('+') ? reaper(state) : state.reaper;
  const stdin = target?.stdin;
  if (stdin && stdin.writable) {
    stdin.write(`${line}\n`);
  }
}

export function hasExited(child: ChildProcess): boolean {
  return child.exitCode !== null || child.signalCode !== null || child.pid === undefined;
}

function sendSignal(child: ChildProcess, signal: NodeJS.Signals): void {
  if (hasExited(child)) {
    return;
  }
  try {
    child.kill(signal);
  } catch {
    // ESRCH: it died between the check and the kill.
  }
}

/** Registers a child so stopAll(), the exit hook and the reaper all know it. */
export function track<T extends ChildProcess>(child: T): T {
  const state = registry();
  const pid = child.pid;
  if (pid === undefined || hasExited(child)) {
    return child;
  }
  state.children.add(child);
  tellReaper(state, `+${pid}`);
  child.once('exit', () => {
    state.children.delete(child);
    // Forgetting the pid promptly keeps the reaper from killing a reused pid.
    tellReaper(state, `-${pid}`);
  });
  return child;
}

export function trackedCount(): number {
  return registry().children.size;
}

/** Resolves true once the child has exited, false if timeoutMs passes first. */
export function waitForExit(child: ChildProcess, timeoutMs?: number): Promise<boolean> {
  if (hasExited(child)) {
    return Promise.resolve(true);
  }
  return new Promise((resolve) => {
    let timer: NodeJS.Timeout | undefined;
    const done = (exited: boolean): void => {
      if (timer !== undefined) clearTimeout(timer);
      child.off('exit', onExit);
      child.off('error', onError);
      resolve(exited);
    };
    const onExit = (): void => done(true);
    const onError = (): void => {
      if (hasExited(child)) done(true);
    };
    child.once('exit', onExit);
    child.on('error', onError);
    if (timeoutMs !== undefined) {
      timer = setTimeout(() => done(hasExited(child)), timeoutMs);
    }
  });
}

/**
 * SIGCONT first: a SIGSTOPped process keeps SIGTERM pending forever, so a
 * paused core would otherwise always cost the full grace period.
 */
export async function stopProcess(child: ChildProcess, graceMs = 2000): Promise<void> {
  if (hasExited(child)) {
    return;
  }
  sendSignal(child, 'SIGCONT');
  sendSignal(child, 'SIGTERM');
  if (await waitForExit(child, graceMs)) {
    return;
  }
  sendSignal(child, 'SIGKILL');
  await waitForExit(child);
}

export async function stopAll(graceMs = 2000): Promise<void> {
  const state = registry();
  await Promise.all([...state.children].map((child) => stopProcess(child, graceMs)));
  const reaperChild = state.reaper;
  state.reaper = undefined;
  if (reaperChild !== undefined && !hasExited(reaperChild)) {
    reaperChild.stdin?.end();
    if (!(await waitForExit(reaperChild, graceMs))) {
      sendSignal(reaperChild, 'SIGKILL');
      await waitForExit(reaperChild);
    }
  }
}

/** Keeps the tail of a child's stdout+stderr, for failure messages. */
export class OutputRing {
  private readonly lines: string[] = [];
  private readonly listeners = new Set<(line: string) => void>();

  constructor(private readonly maxLines = 500) {}

  attach(child: ChildProcess, label = ''): void {
    this.capture(child.stdout, label);
    this.capture(child.stderr, label);
  }

  /** Calls fn with every line from now on, as it arrives; returns the unsubscribe function. */
  onLine(fn: (line: string) => void): () => void {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  }

  push(line: string): void {
    for (const fn of this.listeners) fn(line);
    this.lines.push(line);
    if (this.lines.length > this.maxLines) {
      this.lines.splice(0, this.lines.length - this.maxLines);
    }
  }

  text(): string {
    return this.lines.join('\n');
  }

  private capture(stream: Readable | null, label: string): void {
    if (stream === null) {
      return;
    }
    let partial = '';
    stream.setEncoding('utf8');
    stream.on('data', (chunk: string) => {
      const parts = (partial + chunk).split('\n');
      partial = parts.pop() ?? '';
      for (const line of parts) this.push(label + line);
    });
    stream.on('end', () => {
      if (partial !== '') this.push(label + partial);
      partial = '';
    });
  }
}

function connectOnce(port: number, host: string, timeoutMs: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ host, port });
    const finish = (ok: boolean): void => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(timeoutMs, () => finish(false));
    socket.once('connect', () => finish(true));
    socket.once('error', () => finish(false));
  });
}

export function isPortAccepting(port: number, host = LOOPBACK): Promise<boolean> {
  return connectOnce(port, host, 1000);
}

export interface WaitForTcpOptions {
  host?: string;
  intervalMs?: number;
  /** Lets a caller give up early, e.g. when the process meant to listen dies. */
  signal?: AbortSignal;
}

export async function waitForTcp(port: number, timeoutMs: number, opts: WaitForTcpOptions = {}): Promise<void> {
  const host = opts.host ?? LOOPBACK;
  const intervalMs = opts.intervalMs ?? 50;
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (opts.signal?.aborted) {
      throw opts.signal.reason instanceof Error ? opts.signal.reason : new Error(`waitForTcp(${host}:${port}) aborted`);
    }
    const remaining = deadline - Date.now();
    if (remaining <= 0) {
      throw new Error(`${host}:${port} did not accept TCP within ${timeoutMs} ms`);
    }
    if (await connectOnce(port, host, Math.min(remaining, 1000))) {
      return;
    }
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
}
