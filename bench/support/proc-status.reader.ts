import { promises as fs } from 'fs';

export interface ProcessMemory {
  /** Resident set size now (VmRSS). */
  rssBytes: number;
  /** The highest resident set size so far (VmHWM). */
  peakRssBytes: number;
}

/** Reads /proc/<pid>/status, which counts what the kernel sees, not what the process reports about itself. */
export async function processMemory(pid: number): Promise<ProcessMemory> {
  const text = await fs.readFile(`/proc/${pid}/status`, 'utf8');
  const kb = (field: string): number => {
    const m = new RegExp(`^${field}:\\s+(\\d+)\\s+kB`, 'm').exec(text);
    if (!m) throw new Error(`no ${field} in /proc/${pid}/status`);
    return Number(m[1]) * 1024;
  };
  return { rssBytes: kb('VmRSS'), peakRssBytes: kb('VmHWM') };
}
