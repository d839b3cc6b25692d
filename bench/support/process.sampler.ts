import { promises as fs } from 'fs';
import { processMemory } from './proc-status.reader';

export interface ProcessSample {
  atMs: number;
  rssBytes: number;
  openFds: number;
}

/** How many file descriptors the process holds open: sockets, files, pipes. */
export async function openFds(pid: number): Promise<number> {
  return (await fs.readdir(`/proc/${pid}/fd`)).length;
}

/**
 * Samples a process's RSS and open descriptors at a fixed interval, so a
 * figure can say its peak over a whole phase and not only its value at the end.
 */
export class ProcessSampler {
  readonly samples: ProcessSample[] = [];
  private timer: NodeJS.Timeout | undefined;
  private readonly started = Date.now();

  constructor(
    private readonly pid: number,
    private readonly intervalMs = 250,
  ) {}

  start(): this {
    this.timer = setInterval(() => {
      this.sample().catch(() => this.stop());
    }, this.intervalMs);
    return this;
  }

  stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
  }

  async sample(): Promise<ProcessSample> {
    const [memory, fds] = await Promise.all([processMemory(this.pid), openFds(this.pid)]);
    const s = { atMs: Date.now() - this.started, rssBytes: memory.rssBytes, openFds: fds };
    this.samples.push(s);
    return s;
  }

  maxRss(): number {
    return Math.max(0, ...this.samples.map((s) => s.rssBytes));
  }

  /** The kernel's own high-water mark of the process's RSS since it started (VmHWM). */
  async peakRss(): Promise<number> {
    return (await processMemory(this.pid)).peakRssBytes;
  }
}
