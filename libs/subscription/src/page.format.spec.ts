import { createHash } from 'node:crypto';
import { buildPage, formatBytes, importLinks, PAGE_CSP } from './page.format';
import { REALITY_NODE, subscriptionKey, TLS_WS_NODE } from './testing/subscription-key.fixture';

const SUB_URL = 'https://sub.example.com/sub/TOKEN0123456789abcdef';
const page = (over = {}) =>
  buildPage(subscriptionKey(over), { title: 'keyd', subscriptionUrl: SUB_URL, now: new Date('2027-01-01T00:00:00Z') });

const hashOf = (text: string) => `'sha256-${createHash('sha256').update(text).digest('base64')}'`;
const inline = (doc: string, tag: string) =>
  [...doc.matchAll(new RegExp(`<${tag}>([\\s\\S]*?)</${tag}>`, 'g'))].map((m) => m[1] ?? '');

describe('the subscription page', () => {
  it("shows the key's status, usage against its limit, expiry and days left", async () => {
    const doc = await page({ uploadBytes: 1024 ** 3, downloadBytes: 1024 ** 3, totalBytes: 8 * 1024 ** 3 });
    expect(doc).toContain('>Active</span>');
    expect(doc).toContain(`<progress max="${8 * 1024 ** 3}" value="${2 * 1024 ** 3}">25%</progress>`);
    expect(doc).toContain('2.00 GiB of 8.00 GiB used');
    expect(doc).toContain('<dd id="expires">2027-01-31 12:00 UTC</dd>');
    expect(doc).toContain('<dd id="days-left">30 days left</dd>');
  });

  it('says why a stopped key stopped', async () => {
    const doc = await page({ status: 'EXPIRED', subscriptionEnd: new Date('2026-12-20T00:00:00Z'), totalBytes: 0 });
    expect(doc).toContain('>Expired</span>');
    expect(doc).toContain('expired on 2026-12-20');
    expect(doc).toContain('<dd id="days-left">ended</dd>');
    expect(doc).toContain('no data limit');
  });

  it('draws one QR code per link as inline SVG and prints the link', async () => {
    const doc = await page({ nodes: [REALITY_NODE, TLS_WS_NODE] });
    expect(doc.match(/<svg /g)).toHaveLength(2);
    expect(doc).toContain(REALITY_NODE.link.replace(/&/g, '&amp;'));
    expect(doc).toContain(TLS_WS_NODE.link.replace(/&/g, '&amp;'));
  });

  it("escapes owner ids and names, which are anyone's text", async () => {
    const evil = '<img src=x onerror=alert(1)>"\'&';
    const doc = await page({ ownerId: evil, nodes: [{ ...REALITY_NODE, remark: evil }] });
    expect(doc).not.toContain('<img');
    expect(doc).toContain('&lt;img src=x onerror=alert(1)&gt;&quot;&#39;&amp;');
  });

  it('allows its one style and one script by hash, and loads nothing from anywhere', async () => {
    const doc = await page();
    const [style] = inline(doc, 'style');
    const [script] = inline(doc, 'script');
    expect(PAGE_CSP).toContain(`style-src ${hashOf(style ?? '')}`);
    expect(PAGE_CSP).toContain(`script-src ${hashOf(script ?? '')}`);
    expect(PAGE_CSP).toContain("default-src 'none'");
    expect(doc).not.toMatch(/\s(src|srcset|action)=/);
    expect(doc).not.toMatch(/href="https?:/);
    expect(doc).not.toMatch(/\sstyle=/);
  });

  it('offers the import links of the common apps, each pointing at the subscription', async () => {
    const doc = await page();
    const enc = encodeURIComponent;
    expect(importLinks(SUB_URL, 'keyd').map((l) => l.href)).toEqual([
      `v2rayng://install-config?url=${enc(SUB_URL)}#keyd`,
      `sing-box://import-remote-profile?url=${enc(`${SUB_URL}?format=singbox`)}#keyd`,
      `clash://install-config?url=${enc(`${SUB_URL}?format=clash`)}&name=keyd`,
      `hiddify://import/${SUB_URL}#keyd`,
      `streisand://import/${SUB_URL}#keyd`,
    ]);
    expect(doc).toContain(`href="clash://install-config?url=${enc(`${SUB_URL}?format=clash`)}&amp;name=keyd"`);
    expect(doc).toContain(`<input id="sub-url" readonly value="${SUB_URL}"`);
    expect(doc).toContain('<button id="copy" type="button">Copy</button>');
  });

  it('formats byte counts', () => {
    expect([0, 1023, 1024, 15 * 1024 ** 2, 1536 * 1024 ** 3].map(formatBytes)).toEqual([
      '0 B',
      '1023 B',
      '1.00 KiB',
      '15.0 MiB',
      '1.50 TiB',
    ]);
  });
});
