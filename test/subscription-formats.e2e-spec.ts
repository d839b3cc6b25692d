import { spawn } from 'child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'fs';
import { tmpdir } from 'os';
import { join, resolve } from 'path';
import jsQR from 'jsqr';
import { chromium } from 'playwright-core';
import { PNG } from 'pngjs';
import { parse } from 'yaml';
import { checkSingBox } from '@keyd/subscription/testing';
import { CORE_BIN, CoreProcess, startCore } from './support/core.harness';
import { createKeyd, KeydProcess } from './support/keyd.harness';
import { freePorts, LOOPBACK } from './support/ports.harness';
import { stopAll, stopProcess, track, waitForTcp } from './support/processes.harness';
import { startStack, Stack } from './support/stack.harness';
import { HttpTarget, startHttpTarget, TARGET_OK_BODY } from './support/target.harness';

const DAY = 86_400;
const REALITY = {
  KEYD_PUBLIC_HOST: 'vpn.example.net',
  KEYD_PUBLIC_PORT: '8443',
  KEYD_LINK_SECURITY: 'reality',
  XRAY_FLOW: 'xtls-rprx-vision',
  XRAY_REALITY_PUBLIC_KEY: 'Z84J2IelR9ch3k8VtlVhhs5ycBUlXA7wHBWcBrjqnAw',
  XRAY_REALITY_SHORT_ID: '6ba85179e30d4fc2',
  XRAY_REALITY_SNI: 'www.example.com',
  XRAY_REALITY_FINGERPRINT: 'firefox',
};
const ARTIFACTS = resolve(__dirname, '..', 'test-artifacts');

const get = (url: string, ua?: string) => fetch(url, { headers: ua === undefined ? {} : { 'user-agent': ua } });

describe('subscription formats against real clients', () => {
  let s: Stack;
  beforeAll(async () => {
    s = await startStack({ name: 'subs', env: { ...REALITY, KEYD_SUB_RATE_BURST: '1000' } });
  });
  afterAll(() => s.teardown());

  it("serves a sing-box profile valid for sing-box's schema, with the key's UUID, host, port, flow and REALITY", async () => {
    const { key } = await s.api.grantWith({ owner_id: 'sb-user', duration_seconds: DAY });
    const res = await get(key.subscription_url, 'SFA/1.10.7 (Android 14; sing-box 1.10.7)');
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('application/json; charset=utf-8');
    const doc = (await res.json()) as { outbounds: Record<string, unknown>[] };
    expect(checkSingBox(doc)).toEqual({ valid: true, errors: [] });
    expect(doc.outbounds.filter((o) => o.type === 'vless')).toEqual([
      expect.objectContaining({
        uuid: key.uuid,
        server: REALITY.KEYD_PUBLIC_HOST,
        server_port: Number(REALITY.KEYD_PUBLIC_PORT),
        flow: REALITY.XRAY_FLOW,
        tls: {
          enabled: true,
          server_name: REALITY.XRAY_REALITY_SNI,
          utls: { enabled: true, fingerprint: REALITY.XRAY_REALITY_FINGERPRINT },
          reality: {
            enabled: true,
            public_key: REALITY.XRAY_REALITY_PUBLIC_KEY,
            short_id: REALITY.XRAY_REALITY_SHORT_ID,
          },
        },
      }),
    ]);
  });

  it("serves a Clash Meta profile that parses as YAML, with the key's proxy fields", async () => {
    const { key } = await s.api.grantWith({ owner_id: 'clash-user', duration_seconds: DAY });
    const res = await get(key.subscription_url, 'clash-verge/v2.0.3');
    expect(res.headers.get('content-type')).toBe('application/yaml; charset=utf-8');
    const doc = parse(await res.text()) as { proxies: Record<string, unknown>[]; rules: string[] };
    expect(doc.proxies).toEqual([
      expect.objectContaining({
        type: 'vless',
        uuid: key.uuid,
        server: REALITY.KEYD_PUBLIC_HOST,
        port: Number(REALITY.KEYD_PUBLIC_PORT),
        flow: REALITY.XRAY_FLOW,
        servername: REALITY.XRAY_REALITY_SNI,
        'client-fingerprint': REALITY.XRAY_REALITY_FINGERPRINT,
        'reality-opts': { 'public-key': REALITY.XRAY_REALITY_PUBLIC_KEY, 'short-id': REALITY.XRAY_REALITY_SHORT_ID },
        network: 'tcp',
      }),
    ]);
    expect(doc.rules).toHaveLength(1);
  });

  it('picks the format by User-Agent for each family, and ?format= overrides it', async () => {
    const { key } = await s.api.grantWith({ owner_id: 'ua-user', duration_seconds: DAY });
    const families: [string, string][] = [
      ['v2rayNG/1.9.31', 'text/plain; charset=utf-8'],
      ['HiddifyNext/2.5.7 (android) like ClashMeta v2ray sing-box', 'text/plain; charset=utf-8'],
      ['sing-box 1.10.7', 'application/json; charset=utf-8'],
      ['mihomo/1.19.1', 'application/yaml; charset=utf-8'],
      ['Xray/25.1.30', 'application/json; charset=utf-8'],
      ['Mozilla/5.0 (X11; Linux x86_64) Chrome/131.0.0.0 Safari/537.36', 'text/html; charset=utf-8'],
    ];
    for (const [ua, type] of families) {
      const res = await get(key.subscription_url, ua);
      expect([ua, res.status, res.headers.get('content-type')]).toEqual([ua, 200, type]);
      expect(res.headers.get('subscription-userinfo')).toMatch(/^upload=0; download=0; total=0; expire=\d+$/);
    }
    const links = await get(key.subscription_url, 'v2rayNG/1.9.31');
    expect(Buffer.from(await links.text(), 'base64').toString()).toMatch(new RegExp(`^vless://${key.uuid}@`));
    const overridden = await get(`${key.subscription_url}?format=clash`, 'SFA/1.10.7 (Android 14; sing-box 1.10.7)');
    expect(overridden.headers.get('content-type')).toBe('application/yaml; charset=utf-8');
    const plain = await get(`${key.subscription_url}?format=plain`, 'Mozilla/5.0 (X11; Linux x86_64)');
    expect(await plain.text()).toMatch(new RegExp(`^vless://${key.uuid}@`));
  });

  it('answers the same empty 404 for unknown, revoked and replaced tokens in every format', async () => {
    await s.api.grantWith({ owner_id: 'gone-user', duration_seconds: DAY });
    const replaced = (await s.api.grantWith({ owner_id: 'swap-user', duration_seconds: DAY })).key.subscription_url;
    await s.api.regenerateSubscriptionToken('swap-user');
    const revoked = (await s.api.grantWith({ owner_id: 'rev-user', duration_seconds: DAY })).key.subscription_url;
    await s.api.revoke('rev-user');
    const urls = [`${s.keyd.subUrl}/sub/${'C'.repeat(32)}`, replaced, revoked];
    for (const url of urls) {
      for (const format of ['base64', 'plain', 'singbox', 'clash', 'json', 'html']) {
        const res = await get(`${url}?format=${format}`, 'Mozilla/5.0');
        expect([format, res.status, await res.text(), res.headers.get('content-type')]).toEqual([
          format,
          404,
          '',
          'text/plain; charset=utf-8',
        ]);
      }
    }
  });

  it('renders the page at phone width in Chromium: QR decodes to the link, nothing leaves the origin', async () => {
    const { key } = await s.api.grantWith({ owner_id: '<b>phone</b>', duration_seconds: 10 * DAY });
    const profile = mkdtempSync(join(tmpdir(), 'keyd-chromium-'));
    const browser = await chromium.launchPersistentContext(profile, {
      executablePath: '/usr/bin/chromium',
      headless: true,
      args: [
        '--no-sandbox',
        '--disable-gpu',
        '--disable-dev-shm-usage',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
        '--no-first-run',
      ],
      viewport: { width: 390, height: 844 },
      deviceScaleFactor: 2,
      isMobile: true,
      userAgent:
        'Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0 Mobile Safari/537.36',
    });
    try {
      const page = await browser.newPage();
      const requests: string[] = [];
      const violations: string[] = [];
      page.on('request', (r) => requests.push(r.url()));
      page.on('console', (m) => {
        if (/Content Security Policy|Refused/i.test(m.text())) violations.push(m.text());
      });
      const res = await page.goto(key.subscription_url);
      expect(res?.status()).toBe(200);
      expect(await page.textContent('#status')).toBe('Active');
      expect(await page.textContent('#days-left')).toBe('9 days left');
      expect(await page.textContent('h1')).toContain('<b>phone</b>');
      expect(Number(await page.evaluate('document.documentElement.scrollWidth'))).toBeLessThanOrEqual(390);

      mkdirSync(ARTIFACTS, { recursive: true });
      const shot = join(ARTIFACTS, 'subscription-page-phone.png');
      await page.screenshot({ path: shot, fullPage: true });
      process.stdout.write(`subscription page screenshot: ${shot}\n`);

      const qr = PNG.sync.read(await page.locator('.qr').first().screenshot());
      const decoded = jsQR(new Uint8ClampedArray(qr.data), qr.width, qr.height);
      const links = await (await get(`${key.subscription_url}?format=plain`)).text();
      expect(decoded?.data).toBe(links);

      await page.click('#copy');
      // The button turns to "Copied" once the clipboard write resolves, which
      // is asynchronous in a secure context such as 127.0.0.1.
      // A locator wait, not waitForFunction: a string predicate runs through eval, which the page's CSP refuses.
      await page.locator('#copy', { hasText: /^Copied$/ }).waitFor({ timeout: 10_000 });
      expect(requests.every((u) => new URL(u).origin === s.keyd.subUrl)).toBe(true);
      expect(requests.length).toBeGreaterThan(0);
      expect(violations).toEqual([]);
    } finally {
      await browser.close();
      rmSync(profile, { recursive: true, force: true });
    }
  });
});

describe('the Xray JSON document in a real v2ray client', () => {
  const dir = mkdtempSync(join(tmpdir(), 'keyd-e2e-subs-json-'));
  let core: CoreProcess;
  let keyd: KeydProcess;
  let target: HttpTarget;
  beforeAll(async () => {
    target = await startHttpTarget();
    core = await startCore({ dir });
    // The links point at the core's own VLESS inbound, without TLS, so the document is used as served.
    keyd = await createKeyd({
      dbPath: join(dir, 'keyd.sqlite'),
      coreApiAddr: core.apiAddr,
      env: { KEYD_PUBLIC_HOST: LOOPBACK, KEYD_PUBLIC_PORT: String(core.vlessPort) },
    });
    await keyd.start();
  });
  afterAll(async () => {
    await stopAll();
    await target.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('loads, and a request through its socks inbound reaches the target', async () => {
    const api = keyd.client();
    try {
      const { key } = await api.grantWith({ owner_id: 'xray-user', duration_seconds: DAY });
      const res = await get(key.subscription_url, 'Xray/25.1.30');
      expect(res.headers.get('content-type')).toBe('application/json; charset=utf-8');
      const doc = (await res.json()) as { inbounds: { protocol: string; port: number; listen: string }[] };
      expect(doc.inbounds.map((i) => [i.protocol, i.listen])).toEqual([
        ['socks', '127.0.0.1'],
        ['http', '127.0.0.1'],
      ]);
      const ports = await freePorts(2);
      doc.inbounds.forEach((inbound, i) => (inbound.port = ports[i] as number));
      const configPath = join(dir, 'client.json');
      writeFileSync(configPath, JSON.stringify(doc));
      const client = track(spawn(CORE_BIN, ['-config', configPath], { stdio: 'ignore' }));
      try {
        await waitForTcp(ports[0] as number, 10_000);
        const body = await curlThroughSocks(ports[0] as number, target.url);
        expect(body).toBe(TARGET_OK_BODY);
      } finally {
        await stopProcess(client, 1000);
      }
    } finally {
      api.close();
    }
  });
});

/** curl without proxy variables or ~/.curlrc, so nothing but the SOCKS inbound can carry the request. */
function curlThroughSocks(port: number, url: string): Promise<string> {
  const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !/_proxy$/i.test(k)));
  return new Promise((resolveBody, reject) => {
    const child = track(
      spawn('curl', ['-q', '--silent', '--max-time', '10', '--socks5-hostname', `${LOOPBACK}:${port}`, url], { env }),
    );
    let out = '';
    child.stdout?.setEncoding('utf8');
    child.stdout?.on('data', (c: string) => (out += c));
    child.once('error', reject);
    child.once('close', () => resolveBody(out));
  });
}
