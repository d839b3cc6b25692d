import { ChildProcess, spawn } from 'node:child_process';
import { closeSync, openSync, readFileSync } from 'node:fs';

/** A child of the demo, its output in a file of the demo's directory. */
export interface DemoChild {
  name: string;
  child: ChildProcess;
  logPath: string;
  exited: boolean;
}

/** Starts and stops the demo's processes; whatever was started is stopped, also when the demo fails. */
export class DemoProcesses {
  private readonly children: DemoChild[] = [];
  private readonly killAll = () => {
    for (const c of this.children) if (!c.exited) c.child.kill('SIGKILL');
  };

  constructor() {
    // A demo that dies on its own must not leave a core listening behind it.
    process.once('exit', this.killAll);
  }

  start(name: string, cmd: string, args: string[], env: Record<string, string>, logPath: string): DemoChild {
    const fd = openSync(logPath, 'a', 0o600);
    const child = spawn(cmd, args, { env, stdio: ['ignore', fd, fd] });
    closeSync(fd);
    const entry: DemoChild = { name, child, logPath, exited: false };
    child.once('exit', () => (entry.exited = true));
    child.once('error', () => (entry.exited = true));
    this.children.push(entry);
    return entry;
  }

  /** The last lines a child wrote, for a failure message. */
  tail(c: DemoChild, lines = 15): string {
    try {
      return readFileSync(c.logPath, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
    } catch {
      return '';
    }
  }

  /** Newest first: the client, then keyd (which writes its config file once more), then the core. */
  async stopAll(): Promise<void> {
    for (const c of [...this.children].reverse()) await this.stop(c);
    process.off('exit', this.killAll);
  }

  private async stop(c: DemoChild): Promise<void> {
    if (c.exited || c.child.exitCode !== null) return;
    const gone = new Promise<void>((resolve) => c.child.once('exit', () => resolve()));
    c.child.kill('SIGTERM');
    const timer = setTimeout(() => c.child.kill('SIGKILL'), 10_000);
    await gone;
    clearTimeout(timer);
  }
}

/**
 * The core's version line, or null when the binary can't be run. v2ray 4
 * answers `-version`, v2ray 5 and xray `version`; the line is taken whatever
 * the exit code, since v2ray 4 goes on to read a config from stdin after it.
 */
export async function coreVersion(bin: string): Promise<string | null> {
  for (const flag of ['-version', 'version']) {
    const line = await new Promise<string | null>((resolve) => {
      let out = '';
      const child = spawn(bin, [flag], { stdio: ['ignore', 'pipe', 'ignore'] });
      child.stdout.on('data', (d: Buffer) => (out += d.toString()));
      child.once('error', () => resolve(null));
      child.once('exit', () => resolve((out.split('\n')[0] ?? '').trim()));
    });
    if (line === null) return null;
    if (/^(V2Ray|Xray) \d/.test(line)) return line;
  }
  return null;
}
