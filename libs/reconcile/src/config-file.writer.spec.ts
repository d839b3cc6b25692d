import { chmodSync, existsSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ConfigFileWriter, ConfigWriteResult } from './config-file.writer';
import * as layoutReader from './config-layout.reader';
import { checkCoreConfig } from './core-config.checker';
import { ManualClock } from './testing/manual.clock';
import { ReconcileHarness, TAG } from './testing/reconcile.harness';

const T0 = Date.parse('2030-01-01T00:00:00Z');
const OPERATOR_FILE = `${JSON.stringify({ inbounds: [{ tag: TAG, settings: { clients: [] } }] }, null, 2)}\n`;

/** The core's test mode stood in for by a script, so each way a check can end is reproducible. */
describe('ConfigFileWriter and the core check', () => {
  let h: ReconcileHarness;
  let configPath: string;

  beforeEach(async () => {
    h = await ReconcileHarness.start({ clock: new ManualClock(T0) });
    configPath = join(h.dir, 'core.json');
    writeFileSync(configPath, OPERATOR_FILE);
    await h.grant('alice');
  });
  afterEach(() => h.close());

  const script = (name: string, body: string) => {
    const path = join(h.dir, name);
    writeFileSync(path, `#!/bin/sh\n${body}\n`);
    chmodSync(path, 0o755);
    return path;
  };

  const writeWith = async (bin?: string, binEnv: Record<string, string> = {}) => {
    const writer = new ConfigFileWriter(
      h.keys,
      h.coreState,
      { core: { ...h.config.core, configPath, bin, binEnv } },
      h.log,
    );
    const results: ConfigWriteResult[] = [];
    writer.on('write', (r) => results.push(r));
    await writer.flush();
    writer.onModuleDestroy();
    return { results, status: writer.status() };
  };

  const leftovers = () => readdirSync(h.dir).filter((f) => f.includes('core.json') && f !== 'core.json');

  it('installs a file the check accepts', async () => {
    const { results, status } = await writeWith(script('ok.sh', 'exit 0'));
    expect(results).toEqual(['written']);
    expect(status.lastError).toBeNull();
    expect(readFileSync(configPath, 'utf8')).toContain('"email": "alice');
  });

  it('keeps a file the core rejects aside as .rejected, with the core’s words and exit code', async () => {
    const { results, status } = await writeWith(script('no.sh', 'echo "Failed to load: invalid user" >&2; exit 23'));
    expect(results).toEqual(['rejected']);
    expect(status.lastError).toMatch(/the core rejected the new file .*exit code 23: Failed to load: invalid user/);
    expect(readFileSync(`${configPath}.rejected`, 'utf8')).toContain('"email": "alice');
    expect(readFileSync(configPath, 'utf8')).toBe(OPERATOR_FILE);
  });

  it('runs the check in the environment it is given, and no other', async () => {
    const out = join(h.dir, 'check.env');
    await writeWith(script('env.sh', `env > ${out}`), { MARK: 'given' });
    const seen = readFileSync(out, 'utf8');
    expect(seen).toContain('MARK=given');
    expect(seen).not.toContain(`HOME=${process.env['HOME'] ?? ''}`);
  });

  it('keeps the file 0600 and its .last-good copy private', async () => {
    chmodSync(configPath, 0o600);
    expect((await writeWith()).results).toEqual(['written']);
    expect([configPath, `${configPath}.last-good`].map((p) => statSync(p).mode & 0o777)).toEqual([0o600, 0o600]);
  });

  it('removes the temp files an earlier run left when it starts', async () => {
    writeFileSync(join(h.dir, '.core.json.0123456789abcdef.tmp'), 'every uuid');
    const writer = new ConfigFileWriter(h.keys, h.coreState, { core: { ...h.config.core, configPath } }, h.log);
    await writer.onModuleInit();
    expect(leftovers()).toEqual([]);
  });

  for (const [name, body, reason] of [
    ['killed by a signal', 'kill -9 $$', /gave no verdict.*killed by SIGKILL/],
    ['missing', null, /gave no verdict.*could not be started/],
  ] as const) {
    it(`never calls the file rejected when the check itself fails: ${name}`, async () => {
      const bin = body === null ? join(h.dir, 'no-such-core') : script('check.sh', body);
      const { results, status } = await writeWith(bin);
      expect(results).toEqual(['failed']);
      expect(status.lastError).toMatch(reason);
      expect(status.lastError).not.toMatch(/rejected/);
      expect(existsSync(`${configPath}.rejected`)).toBe(false);
      // Nothing installed and no temp file left behind: the next attempt starts clean.
      expect(readFileSync(configPath, 'utf8')).toBe(OPERATOR_FILE);
      expect(leftovers()).toEqual([]);
    });
  }

  it('gives no verdict for a check that outlives its timeout, and stops it', async () => {
    const outcome = await checkCoreConfig(script('slow.sh', 'exec sleep 30'), 'v2ray', configPath, 300, {});
    expect(outcome).toEqual({ kind: 'inconclusive', reason: expect.stringMatching(/no verdict within 0.3 s/) });
  });

  describe('after a restart', () => {
    const operatorClient = { id: 'operator-own', email: 'kept by keyd' };
    beforeEach(() =>
      writeFileSync(
        configPath,
        JSON.stringify({ inbounds: [{ tag: TAG, settings: { clients: [operatorClient], decryption: 'none' } }] }),
      ),
    );
    afterEach(() => jest.restoreAllMocks());

    it('finds the file it left current without reading it, and reads it again once edited', async () => {
      expect((await writeWith()).results).toEqual(['written']);
      const read = jest.spyOn(layoutReader, 'readConfigLayout');

      // A new writer, as in a new keyd process: only the stamp recorded with the write is left.
      expect((await writeWith()).results).toEqual(['unchanged']);
      expect(read).not.toHaveBeenCalled();

      writeFileSync(configPath, `${readFileSync(configPath, 'utf8')}\n`);
      expect((await writeWith()).results).toEqual(['written']);
      expect(read).toHaveBeenCalledTimes(1);
    });

    it('rewrites a file it left once keys changed, keeping the operator’s own clients', async () => {
      await writeWith();
      await h.grant('bob');
      expect((await writeWith()).results).toEqual(['written']);
      const clients = (
        JSON.parse(readFileSync(configPath, 'utf8')) as { inbounds: { settings: { clients: { email: string }[] } }[] }
      ).inbounds[0].settings.clients;
      expect(clients.map((c) => c.email)).toEqual([
        expect.stringMatching(/^alice/),
        expect.stringMatching(/^bob/),
        'kept by keyd',
      ]);
    });
  });
});
