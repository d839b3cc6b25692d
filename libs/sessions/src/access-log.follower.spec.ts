import { promises as fs } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { AccessLogFollower } from './access-log.follower';

describe('AccessLogFollower', () => {
  let dir: string;
  let file: string;
  let lines: string[];
  let follower: AccessLogFollower;

  beforeEach(async () => {
    dir = await fs.mkdtemp(path.join(os.tmpdir(), 'keyd-follow-'));
    file = path.join(dir, 'access.log');
    lines = [];
  });
  afterEach(async () => {
    await follower?.stop();
    await fs.rm(dir, { recursive: true, force: true });
  });
  const make = (tailBytes = 1 << 20) => {
    follower = new AccessLogFollower(file, (l) => lines.push(l), { pollMs: 60_000, tailBytes });
    return follower;
  };

  it('reads appended lines, holding a partial line until its newline arrives', async () => {
    await fs.writeFile(file, 'one\n');
    make();
    await follower.poll();
    await fs.appendFile(file, 'two\nthr');
    await follower.poll();
    expect(lines).toEqual(['one', 'two']);
    await fs.appendFile(file, 'ee\n');
    await follower.poll();
    expect(lines).toEqual(['one', 'two', 'three']);
    expect(follower.state).toBe('following');
  });

  it('starts near the end of a large existing file, at a line boundary', async () => {
    await fs.writeFile(file, 'x'.repeat(1000) + '\nlast-old\n');
    make(20);
    await follower.poll();
    await fs.appendFile(file, 'new\n');
    await follower.poll();
    expect(lines).toEqual(['last-old', 'new']);
  });

  it('follows a rename rotation: finishes the old file, then reads the new one from its start', async () => {
    await fs.writeFile(file, 'a\n');
    make();
    await follower.poll();
    await fs.appendFile(file, 'b\n');
    await fs.rename(file, `${file}.1`);
    await fs.appendFile(`${file}.1`, 'c\n');
    await follower.poll(); // the old name is gone: the old file is finished
    await fs.writeFile(file, 'd\n');
    await follower.poll();
    await fs.appendFile(file, 'e\n');
    await follower.poll();
    expect(lines).toEqual(['a', 'b', 'c', 'd', 'e']);
  });

  it('rereads a truncated file from its start', async () => {
    await fs.writeFile(file, 'first line\nsecond line\n');
    make();
    await follower.poll();
    await fs.truncate(file, 0);
    await fs.appendFile(file, 'after\n');
    await follower.poll();
    expect(lines).toEqual(['first line', 'second line', 'after']);
  });

  it('waits for a missing file and drops over-long lines', async () => {
    make();
    await follower.poll();
    expect(follower.state).toBe('waiting');
    expect(follower.error).toMatch(/ENOENT/);
    await fs.writeFile(file, `${'z'.repeat(10_000)}\nok\n`);
    await follower.poll();
    expect(lines).toEqual(['ok']);
    expect(follower.error).toBeNull();
  });
});
