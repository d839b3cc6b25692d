import { randomUUID } from 'crypto';
import { promises as fs } from 'fs';
import * as os from 'os';
import * as path from 'path';
import { CoreProcess, startCore } from './core.harness';
import { stopAll, trackedCount } from './processes.harness';
import { HttpTarget, startHttpTarget } from './target.harness';
import { fetchThroughKey, probeKey, probeKeys } from './vless-client.harness';

jest.setTimeout(60_000);

describe('e2e harness against a real core', () => {
  const staticUuid = randomUUID();
  let dir: string;
  let core: CoreProcess;
  let target: HttpTarget;

  beforeAll(async () => {
    dir = await fs.mkdtemp(path.join(os.tmpdir(), 'keyd-harness-'));
    target = await startHttpTarget();
    core = await startCore({ dir, clients: [{ id: staticUuid, email: 'static@keyd.test' }] });
  });

  afterAll(async () => {
    await stopAll();
    await target?.close();
    if (dir) await fs.rm(dir, { recursive: true, force: true });
  });

  it('reaches the target through a key the core knows', async () => {
    await expect(probeKey({ vlessPort: core.vlessPort, uuid: staticUuid, target })).resolves.toBe(true);
  });

  it('is refused for a key the core does not know', async () => {
    await expect(probeKey({ vlessPort: core.vlessPort, uuid: randomUUID(), target })).resolves.toBe(false);
  });

  it('probes several keys through one client and tells them apart', async () => {
    const unknown = randomUUID();
    const results = await probeKeys({ vlessPort: core.vlessPort, uuids: [staticUuid, unknown], target });
    expect(Object.fromEntries(results)).toEqual({ [staticUuid]: true, [unknown]: false });
  });

  it('brings up a new process on kill + start and serves the static key again', async () => {
    const before = core.pid;
    expect(before).toBeDefined();
    await core.kill();
    expect(core.running).toBe(false);
    await expect(probeKey({ vlessPort: core.vlessPort, uuid: staticUuid, target, timeoutMs: 2000 })).resolves.toBe(
      false,
    );
    await core.start();
    expect(core.running).toBe(true);
    expect(core.pid).toBeDefined();
    expect(core.pid).not.toBe(before);
    await expect(probeKey({ vlessPort: core.vlessPort, uuid: staticUuid, target })).resolves.toBe(true);
  });

  it('reports a paused core as unreachable and recovers on resume', async () => {
    core.pause();
    try {
      await expect(probeKey({ vlessPort: core.vlessPort, uuid: staticUuid, target, timeoutMs: 2000 })).resolves.toBe(
        false,
      );
    } finally {
      core.resume();
    }
    await expect(probeKey({ vlessPort: core.vlessPort, uuid: staticUuid, target })).resolves.toBe(true);
  });

  it('counts bytes downloaded through a key', async () => {
    await expect(
      fetchThroughKey({ vlessPort: core.vlessPort, uuid: staticUuid, url: target.bytesUrl(100_000) }),
    ).resolves.toEqual({ ok: true, bytes: 100_000 });
  });

  it('leaves no probe processes behind, only the core', () => {
    expect(trackedCount()).toBe(1);
  });
});
