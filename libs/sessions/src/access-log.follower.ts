import { promises as fs } from 'node:fs';
import { StringDecoder } from 'node:string_decoder';
import { MAX_ACCESS_LINE } from './access-log.parser';

const READ_CHUNK = 256 * 1024;

export interface FollowerOptions {
  /** How often the file is checked for growth, rotation and truncation. */
  pollMs: number;
  /** At start, how much of the existing file's end is read, so a restarted keyd knows open connections. */
  tailBytes: number;
}

export type FollowerState = 'following' | 'waiting' | 'stopped';

/**
 * Reads lines appended to a log file, like `tail -F`: it keeps reading the old
 * file to its end after a rename (logrotate's default), then opens the new one
 * from its start; a file that shrinks (copytruncate) is read again from 0; a
 * missing file is waited for. Over-long lines are dropped, so memory stays
 * bounded whatever is written.
 */
export class AccessLogFollower {
  private fd: fs.FileHandle | null = null;
  private ino = -1;
  private pos = 0;
  private partial = '';
  private decoder = new StringDecoder('utf8');
  private skipping = false;
  private timer?: NodeJS.Timeout;
  private running: Promise<void> | null = null;
  private first = true;
  private lastError: string | null = null;
  private readAtStart = false;
  state: FollowerState = 'waiting';

  constructor(
    readonly path: string,
    private readonly onLine: (line: string) => void,
    private readonly opts: FollowerOptions,
  ) {}

  get error(): string | null {
    return this.lastError;
  }

  /** False while the lines handed on are the file's end as found at start, written before keyd followed it. */
  get caughtUp(): boolean {
    return this.readAtStart;
  }

  start(): void {
    this.schedule(0);
  }

  async stop(): Promise<void> {
    this.state = 'stopped';
    clearTimeout(this.timer);
    await this.running;
    await this.fd?.close().catch(() => undefined);
    this.fd = null;
  }

  /** One check of the file; exposed so tests and callers can wait for a read to finish. */
  async poll(): Promise<void> {
    this.running ??= this.check().finally(() => (this.running = null));
    return this.running;
  }

  private schedule(ms: number): void {
    if (this.state === 'stopped') return;
    this.timer = setTimeout(() => {
      this.poll()
        .catch(() => undefined)
        .finally(() => this.schedule(this.opts.pollMs));
    }, ms);
  }

  private async check(): Promise<void> {
    let st;
    try {
      st = await fs.stat(this.path);
    } catch (e) {
      // Renamed away and not yet recreated: finish the old file meanwhile.
      if (this.fd) await this.drain();
      this.lastError = `cannot read ${this.path}: ${(e as NodeJS.ErrnoException).code ?? String(e)}`;
      this.state = 'waiting';
      return;
    }
    try {
      if (!this.fd || st.ino !== this.ino) {
        if (this.fd) {
          await this.drain();
          await this.fd.close();
        }
        await this.open(st.ino, st.size);
      } else if (st.size < this.pos) {
        this.pos = 0;
        this.partial = '';
        this.decoder = new StringDecoder('utf8');
        this.skipping = false;
      }
      await this.drain();
      this.readAtStart = true;
      this.state = 'following';
      this.lastError = null;
    } catch (e) {
      this.lastError = `cannot read ${this.path}: ${(e as NodeJS.ErrnoException).code ?? String(e)}`;
      await this.fd?.close().catch(() => undefined);
      this.fd = null;
      this.state = 'waiting';
    }
  }

  private async open(ino: number, size: number): Promise<void> {
    this.fd = await fs.open(this.path, 'r');
    this.ino = ino;
    this.partial = '';
    this.decoder = new StringDecoder('utf8');
    // Only the first file keyd finds is read from near its end; every later one is new and read whole.
    this.pos = this.first ? Math.max(0, size - this.opts.tailBytes) : 0;
    this.skipping = this.pos > 0;
    this.first = false;
  }

  private async drain(): Promise<void> {
    const fd = this.fd;
    if (!fd) return;
    const buf = Buffer.allocUnsafe(READ_CHUNK);
    for (;;) {
      const { bytesRead } = await fd.read(buf, 0, READ_CHUNK, this.pos);
      if (bytesRead === 0) return;
      this.pos += bytesRead;
      this.feed(this.decoder.write(buf.subarray(0, bytesRead)));
    }
  }

  private feed(text: string): void {
    const lines = (this.partial + text).split('\n');
    this.partial = lines.pop() ?? '';
    for (const line of lines) {
      // A start in the middle of the file, or a line that overflowed, resumes at the next newline.
      if (this.skipping) {
        this.skipping = false;
        continue;
      }
      if (line.length <= MAX_ACCESS_LINE) this.onLine(line);
    }
    if (this.partial.length > MAX_ACCESS_LINE) {
      this.partial = '';
      this.skipping = true;
    }
  }
}
