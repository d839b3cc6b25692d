import { existsSync } from 'fs';
import { runKeyd } from './support/cli.harness';

interface DemoJson {
  dir: string;
  key: { uuid: string; vless_url: string; subscription_url: string; status: string; provisioned: boolean };
  traffic: { passed: boolean; status: number; stranger_refused: boolean };
  subscription: { status: number };
  qr: string;
}

const PATH_ONLY = { PATH: process.env['PATH'] ?? '' };

/** `npm run demo` is `keyd demo` on the built entry; --once is its non-interactive form. */
describe('keyd demo', () => {
  it('starts a core and keyd, passes traffic through its own key, prints it all, and stops everything', async () => {
    const r = await runKeyd(['demo', '--once'], PATH_ONLY);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(
      /^1\. Wrote a core config to .*: API on 127\.0\.0\.1:\d+, VLESS inbound on 127\.0\.0\.1:\d+\./m,
    );
    expect(r.stdout).toMatch(/^ {3}Started the core: V2Ray/m);
    expect(r.stdout).toMatch(/^2\. Started keyd on /m);
    expect(r.stdout).toMatch(/^3\. Granted a key to owner "demo" for one day: ISSUED, in the core: true\./m);
    expect(r.stdout).toContain('answered 200, traffic passed; a UUID without a key was refused');
    expect(r.stdout).toMatch(/share link {4}vless:\/\/[0-9a-f-]{36}@127\.0\.0\.1:\d+\?/);
    expect(r.stdout).toMatch(/subscription {2}http:\/\/127\.0\.0\.1:\d+\/sub\/\S+ \(answers 200\)/);
    expect(r.stdout).toContain('▄▄▄▄▄▄▄');
    const dir = /removed (\S+)\.$/m.exec(r.stdout)?.[1] ?? '';
    expect(dir).toMatch(/keyd-demo-/);
    expect(existsSync(dir)).toBe(false);
  });

  it('with --json prints one document: the key, the traffic proof and the subscription answer', async () => {
    const r = await runKeyd(['demo', '--once', '--json'], PATH_ONLY);
    expect(r.code).toBe(0);
    const out = JSON.parse(r.stdout) as DemoJson;
    expect(out.traffic).toEqual({ passed: true, status: 200, stranger_refused: true });
    expect(out.key).toMatchObject({ status: 'ACTIVE', provisioned: true });
    expect(out.key.vless_url).toContain(out.key.uuid);
    expect(out.subscription.status).toBe(200);
    expect(out.qr).toContain('▄');
    expect(r.stderr).toContain('traffic passed');
  });

  it('names what is missing when there is no core binary', async () => {
    const none = await runKeyd(['demo', '--once'], { PATH: '/nonexistent' });
    expect(none.code).toBe(1);
    expect(none.stderr).toContain('no core binary found: apt-get install v2ray');
    const wrong = await runKeyd(['demo', '--once'], { ...PATH_ONLY, XRAY_BIN: '/nonexistent/xray' });
    expect(wrong.code).toBe(1);
    expect(wrong.stderr).toContain('no core binary found: XRAY_BIN=/nonexistent/xray does not run');
  });
});
