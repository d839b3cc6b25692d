import { createHash } from 'node:crypto';
import { toString as qrSvg } from 'qrcode';
import { markup, SafeHtml } from './html.template';
import { keyNotice } from './subscription.notice';
import { SubscriptionKey } from './subscription.types';

const STYLE = `
:root{color-scheme:light dark;--fg:#1b1f24;--bg:#f6f7f9;--card:#fff;--muted:#5b6470;--accent:#2463eb;--bad:#c62828}
@media (prefers-color-scheme:dark){:root{--fg:#e8eaed;--bg:#111418;--card:#1b1f24;--muted:#9aa3ad;--accent:#6b9bff;--bad:#ff6b6b}}
*{box-sizing:border-box}
body{margin:0;font:16px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:var(--fg);background:var(--bg)}
main{max-width:34rem;margin:0 auto;padding:1rem}
h1{font-size:1.35rem;margin:.25rem 0 1rem;overflow-wrap:anywhere}
h2{font-size:1.05rem;margin:0 0 .5rem;overflow-wrap:anywhere}
section{background:var(--card);border-radius:12px;padding:1rem;margin:0 0 1rem;box-shadow:0 1px 3px rgba(0,0,0,.08)}
.status{display:inline-block;padding:.15rem .6rem;border-radius:999px;font-weight:600;background:var(--accent);color:#fff}
.status.stopped{background:var(--bad)}
.muted{color:var(--muted)}
progress{width:100%;height:.9rem;margin:.4rem 0}
dl{display:grid;grid-template-columns:auto 1fr;gap:.25rem .75rem;margin:.75rem 0 0}
dt{color:var(--muted)}dd{margin:0}
.row{display:flex;gap:.5rem}
input{flex:1;min-width:0;font:inherit;padding:.5rem;border:1px solid var(--muted);border-radius:8px;background:transparent;color:inherit}
button,.app{font:inherit;font-weight:600;padding:.55rem .9rem;border:0;border-radius:8px;background:var(--accent);color:#fff;text-decoration:none;cursor:pointer}
.apps{display:grid;grid-template-columns:repeat(auto-fill,minmax(9rem,1fr));gap:.5rem;margin-top:.75rem}
.app{text-align:center}
.qr{display:block;width:100%;max-width:18rem;margin:.5rem auto;background:#fff;border-radius:8px}
.link{font:12px/1.3 ui-monospace,monospace;overflow-wrap:anywhere;word-break:break-all;margin:.5rem 0 0}
`;

const SCRIPT = `
document.getElementById('copy').addEventListener('click', function () {
  var field = document.getElementById('sub-url');
  var button = this;
  var done = function () { button.textContent = 'Copied'; };
  field.select();
  if (navigator.clipboard && window.isSecureContext) {
    navigator.clipboard.writeText(field.value).then(done, function () { document.execCommand('copy'); done(); });
  } else {
    document.execCommand('copy');
    done();
  }
});
`;

const sha256 = (text: string) => `'sha256-${createHash('sha256').update(text).digest('base64')}'`;

/**
 * Nothing loads from anywhere: the page's one style and one script are
 * allowed by their hashes, and everything else is refused.
 */
export const PAGE_CSP = [
  "default-src 'none'",
  `style-src ${sha256(STYLE)}`,
  `script-src ${sha256(SCRIPT)}`,
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join('; ');

const UNITS = ['B', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB'];

export function formatBytes(bytes: number): string {
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < UNITS.length - 1) {
    value /= 1024;
    unit++;
  }
  return unit === 0 ? `${value} B` : `${value.toFixed(value < 10 ? 2 : 1)} ${UNITS[unit]}`;
}

/** One-tap import links of the common apps, each pointed at the format it reads. */
export function importLinks(subscriptionUrl: string, title: string): { app: string; href: string }[] {
  const url = (format?: string) => (format ? `${subscriptionUrl}?format=${format}` : subscriptionUrl);
  const name = encodeURIComponent(title);
  return [
    { app: 'v2rayNG', href: `v2rayng://install-config?url=${encodeURIComponent(url())}#${name}` },
    { app: 'sing-box', href: `sing-box://import-remote-profile?url=${encodeURIComponent(url('singbox'))}#${name}` },
    { app: 'Clash Meta', href: `clash://install-config?url=${encodeURIComponent(url('clash'))}&name=${name}` },
    { app: 'Hiddify', href: `hiddify://import/${url()}#${name}` },
    { app: 'Streisand', href: `streisand://import/${url()}#${name}` },
  ];
}

const STATUS_LABEL: Record<string, string> = {
  ACTIVE: 'Active',
  EXPIRED: 'Expired',
  SUSPENDED: 'Suspended',
  REVOKED: 'Revoked',
};

function daysLeft(end: Date, now: Date): string {
  const days = Math.floor((end.getTime() - now.getTime()) / 86_400_000);
  if (end.getTime() <= now.getTime()) return 'ended';
  if (days === 0) return 'less than a day left';
  return days === 1 ? '1 day left' : `${days} days left`;
}

function usage(key: SubscriptionKey): SafeHtml {
  const used = key.uploadBytes + key.downloadBytes;
  if (key.totalBytes === 0) return markup`<p>${formatBytes(used)} used <span class="muted">· no data limit</span></p>`;
  const percent = Math.min(100, Math.round((used / key.totalBytes) * 100));
  return markup`<progress max="${key.totalBytes}" value="${Math.min(used, key.totalBytes)}">${percent}%</progress>
    <p>${formatBytes(used)} of ${formatBytes(key.totalBytes)} used <span class="muted">(${percent}%)</span></p>`;
}

/**
 * The page a person sees on opening the subscription URL in a browser: the
 * key's state, one QR code per share link (SVG, drawn here), the apps'
 * import links and a copy button. It shows nothing beyond what the share
 * links and the subscription headers already carry.
 */
export async function buildPage(
  key: SubscriptionKey,
  opts: { title: string; subscriptionUrl: string; now: Date },
): Promise<string> {
  const notice = keyNotice(key);
  const end = key.subscriptionEnd;
  const qrs = await Promise.all(
    key.nodes.map((n) => qrSvg(n.link, { type: 'svg', errorCorrectionLevel: 'M', margin: 2 })),
  );
  const nodes = key.nodes.map(
    (node, i) =>
      markup`<section>
        <h2>${node.remark}</h2>
        <div class="qr" role="img" aria-label="QR code of the link">${new SafeHtml(qrs[i] ?? '')}</div>
        <p class="link">${node.link}</p>
      </section>`,
  );
  const apps = importLinks(opts.subscriptionUrl, opts.title).map(
    ({ app, href }) => markup`<a class="app" href="${href}">${app}</a>`,
  );
  const page = markup`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer">
<meta name="robots" content="noindex, nofollow">
<title>${opts.title}</title>
<style>${new SafeHtml(STYLE)}</style>
</head>
<body>
<main>
<h1>${opts.title} <span class="muted">· ${key.ownerId}</span></h1>
<section>
  <span class="status${notice ? ' stopped' : ''}" id="status">${STATUS_LABEL[key.status] ?? key.status}</span>
  ${notice ? markup` <span class="muted">${notice}</span>` : ''}
  ${usage(key)}
  <dl>
    <dt>Expires</dt><dd id="expires">${end.toISOString().slice(0, 16).replace('T', ' ')} UTC</dd>
    <dt>Time left</dt><dd id="days-left">${daysLeft(end, opts.now)}</dd>
  </dl>
</section>
<section>
  <h2>Subscription URL</h2>
  <div class="row"><input id="sub-url" readonly value="${opts.subscriptionUrl}" aria-label="Subscription URL"><button id="copy" type="button">Copy</button></div>
  <div class="apps">${apps}</div>
</section>
${nodes}
</main>
<script>${new SafeHtml(SCRIPT)}</script>
</body>
</html>
`;
  return page.value;
}
