import { SubscriptionFormat } from './format.selector';
import { renderSubscription } from './subscription.renderer';
import { REALITY_NODE, subscriptionKey, TLS_WS_NODE } from './testing/subscription-key.fixture';

const opts = (format: SubscriptionFormat) => ({
  format,
  updateIntervalHours: 12,
  title: 'keyd',
  subscriptionUrl: 'https://sub.example.com/sub/TOKEN0123456789abcdef',
  now: new Date('2027-01-01T00:00:00Z'),
});

const FORMATS: [SubscriptionFormat, string, string][] = [
  ['base64', 'text/plain; charset=utf-8', 'txt'],
  ['plain', 'text/plain; charset=utf-8', 'txt'],
  ['singbox', 'application/json; charset=utf-8', 'json'],
  ['json', 'application/json; charset=utf-8', 'json'],
  ['clash', 'application/yaml; charset=utf-8', 'yaml'],
  ['html', 'text/html; charset=utf-8', 'html'],
];

describe('subscription responses', () => {
  it('serve the links as before: base64 of one link per line, or plain', async () => {
    const key = subscriptionKey({ nodes: [REALITY_NODE, TLS_WS_NODE] });
    const base64 = await renderSubscription(key, opts('base64'));
    expect(Buffer.from(base64.body, 'base64').toString()).toBe(`${REALITY_NODE.link}\n${TLS_WS_NODE.link}`);
    expect((await renderSubscription(key, opts('plain'))).body).toBe(`${REALITY_NODE.link}\n${TLS_WS_NODE.link}`);
  });

  it.each(FORMATS)('%s carries the usage headers and its own Content-Type', async (format, type, ext) => {
    const r = await renderSubscription(subscriptionKey(), opts(format));
    expect(r.status).toBe(200);
    expect(r.headers).toMatchObject({
      'Content-Type': type,
      'Subscription-Userinfo': `upload=1000; download=2000; total=${10 * 1024 ** 3}; expire=1801396800`,
      'Profile-Update-Interval': '12',
      'Profile-Title': `base64:${Buffer.from('keyd').toString('base64')}`,
      'Content-Disposition': `${format === 'html' ? 'inline' : 'attachment'}; filename="keyd-alice.${ext}"`,
      'Cache-Control': 'no-store',
    });
    expect(r.headers['Content-Security-Policy'] !== undefined).toBe(format === 'html');
  });

  it('names the reason in the profile title of a stopped key', async () => {
    const r = await renderSubscription(subscriptionKey({ status: 'SUSPENDED' }), opts('clash'));
    expect(Buffer.from(r.headers['Profile-Title']?.replace('base64:', '') ?? '', 'base64').toString()).toBe(
      'keyd (data limit reached)',
    );
  });

  it('answers 406 in a format that cannot carry any node of the key, and still serves the links', async () => {
    const key = subscriptionKey({ nodes: [{ ...TLS_WS_NODE, transport: 'kcp' }] });
    const r = await renderSubscription(key, opts('clash'));
    expect(r.status).toBe(406);
    expect(r.headers['Content-Type']).toBe('text/plain; charset=utf-8');
    expect((await renderSubscription(key, opts('base64'))).status).toBe(200);
  });
});
