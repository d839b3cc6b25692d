import {
  mkdirSync,
  chmodSync,
  chownSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { copyPrivately, install, removeStaleTemps, writeTemp } from './atomic-file.writer';

const NOBODY = 65534;
const modeOf = (path: string) => statSync(path).mode & 0o777;

describe('atomic file writes', () => {
  let dir: string;
  let target: string;

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'keyd-atomic-'));
    target = join(dir, 'config.json');
    writeFileSync(target, '{"old":true}', { mode: 0o640 });
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('writes temp files private, under a new unpredictable name each time', async () => {
    const a = await writeTemp(target, 'a');
    const b = await writeTemp(target, 'b');
    expect(a).not.toBe(b);
    expect(a).not.toContain(String(process.pid));
    expect([modeOf(a), modeOf(b)]).toEqual([0o600, 0o600]);
  });

  it('never writes through a file planted at a temp name', async () => {
    const victim = join(dir, 'victim');
    writeFileSync(victim, 'untouched');
    // The only temp name anyone can know is one already used; a symlink planted there is never followed.
    const used = await writeTemp(target, 'first');
    rmSync(used);
    symlinkSync(victim, used);
    await writeTemp(target, 'second');
    expect(readFileSync(victim, 'utf8')).toBe('untouched');
  });

  it('gives the installed file the mode and owner the target had', async () => {
    chownSync(target, NOBODY, NOBODY);
    const temp = await writeTemp(target, '{"new":true}');
    await install(temp, target);
    const after = statSync(target);
    expect({ mode: after.mode & 0o777, uid: after.uid, gid: after.gid }).toEqual({
      mode: 0o640,
      uid: NOBODY,
      gid: NOBODY,
    });
    expect(readFileSync(target, 'utf8')).toBe('{"new":true}');
  });

  it('keeps a 0600 target 0600', async () => {
    chmodSync(target, 0o600);
    await install(await writeTemp(target, '{"new":true}'), target);
    expect(modeOf(target)).toBe(0o600);
  });

  it('leaves no temp file behind when the install fails', async () => {
    const dirTarget = join(dir, 'taken');
    mkdirSync(dirTarget);
    const temp = await writeTemp(dirTarget, 'every uuid');
    await expect(install(temp, dirTarget)).rejects.toThrow();
    expect(readdirSync(dir).filter((f) => f.endsWith('.tmp'))).toEqual([]);
  });

  it('copies privately, whatever the source mode', async () => {
    chmodSync(target, 0o644);
    writeFileSync(`${target}.last-good`, 'stale', { mode: 0o644 });
    await copyPrivately(target, `${target}.last-good`);
    expect(modeOf(`${target}.last-good`)).toBe(0o600);
    expect(readFileSync(`${target}.last-good`, 'utf8')).toBe('{"old":true}');
  });

  it('removes the temp files a crashed run left, and nothing else', async () => {
    await writeTemp(target, 'left by a crash');
    writeFileSync(join(dir, '.config.json.1234.tmp'), 'left by an older keyd');
    writeFileSync(join(dir, '.config.json.last-good.abcd.tmp'), 'left mid-copy');
    writeFileSync(join(dir, '.other.json.abcd.tmp'), 'not ours');
    writeFileSync(join(dir, 'config.json.rejected'), 'kept for the operator');
    expect(await removeStaleTemps(target)).toBe(3);
    expect(readdirSync(dir).sort()).toEqual(['.other.json.abcd.tmp', 'config.json', 'config.json.rejected']);
  });
});
