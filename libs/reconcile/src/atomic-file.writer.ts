import { randomBytes } from 'node:crypto';
import { constants, promises as fs } from 'node:fs';
import { basename, dirname, join } from 'node:path';

const PRIVATE = 0o600;

/**
 * A temp file's name beside target. Random, so that nobody can plant a
 * symlink at it in advance; created exclusively, so that one planted anyway
 * makes the write fail instead of being followed.
 */
const tempName = (target: string) =>
  join(dirname(target), `.${basename(target)}.${randomBytes(8).toString('hex')}.tmp`);
const isTempOf = (target: string, name: string) => name.startsWith(`.${basename(target)}.`) && name.endsWith('.tmp');

/**
 * Writes data (whole, or streamed in chunks) to a new temp file beside target
 * and fsyncs it; returns the temp path. The file is private to keyd's user
 * until install gives it the target's mode: it holds every key's UUID.
 */
export async function writeTemp(target: string, data: string | AsyncIterable<string>): Promise<string> {
  const temp = tempName(target);
  const handle = await fs.open(temp, 'wx', PRIVATE);
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

/**
 * Renames temp over target, then fsyncs the directory so the rename itself
 * survives a power loss. The new file takes the mode and owner the target had,
 * so a core running as another user still reads it. Changing the owner needs
 * root; a keyd that isn't can only keep the owner when it is keyd's own.
 */
export async function install(temp: string, target: string): Promise<void> {
  const before = await fs.stat(target).catch((e: NodeJS.ErrnoException) => {
    if (e.code === 'ENOENT') return null;
    throw e;
  });
  try {
    if (before) {
      await fs.chmod(temp, before.mode & 0o7777);
      await fs.chown(temp, before.uid, before.gid).catch((e: NodeJS.ErrnoException) => {
        if (e.code !== 'EPERM') throw e;
      });
    }
    await fs.rename(temp, target);
  } catch (e) {
    // Each attempt has a name of its own: a failed one left behind would be one more copy of every UUID.
    await fs.unlink(temp).catch(() => undefined);
    throw e;
  }
  const dir = await fs.open(dirname(target), 'r');
  try {
    await dir.sync();
  } finally {
    await dir.close();
  }
}

/** A private copy of source at target, replacing it atomically: the kernel copies the bytes, not this process. */
export async function copyPrivately(source: string, target: string): Promise<void> {
  const temp = tempName(target);
  await fs.copyFile(source, temp, constants.COPYFILE_EXCL);
  try {
    await fs.chmod(temp, PRIVATE);
    await fs.rename(temp, target);
  } catch (e) {
    await fs.unlink(temp).catch(() => undefined);
    throw e;
  }
}

/**
 * Removes temp files a crashed keyd left beside target: whole copies of the
 * config, each holding every UUID, that nothing would ever clean up.
 * Returns how many were removed.
 */
export async function removeStaleTemps(target: string): Promise<number> {
  const dir = dirname(target);
  const names = await fs.readdir(dir).catch(() => [] as string[]);
  let removed = 0;
  for (const name of names) {
    // The .last-good copy's temp files start with the target's name too.
    if (!isTempOf(target, name)) continue;
    await fs.unlink(join(dir, name)).then(
      () => removed++,
      () => undefined,
    );
  }
  return removed;
}
