import { promises as fs } from 'node:fs';
import { basename, dirname, join } from 'node:path';

/** Writes data (whole, or streamed in chunks) to a temp file beside target and fsyncs it; returns the temp path. */
export async function writeTemp(target: string, data: string | AsyncIterable<string>): Promise<string> {
  const temp = join(dirname(target), `.${basename(target)}.${process.pid}.tmp`);
  const handle = await fs.open(temp, 'w', 0o640);
  try {
    await fs.writeFile(handle, data);
    await handle.sync();
  } catch (e) {
    // A half-written temp file on a full disk would keep the disk full.
    await handle.close();
    await fs.unlink(temp).catch(() => undefined);
    throw e;
  }
  await handle.close();
  return temp;
}

/** Renames temp over target, then fsyncs the directory so the rename itself survives a power loss. */
export async function install(temp: string, target: string): Promise<void> {
  await fs.rename(temp, target);
  const dir = await fs.open(dirname(target), 'r');
  try {
    await dir.sync();
  } finally {
    await dir.close();
  }
}
