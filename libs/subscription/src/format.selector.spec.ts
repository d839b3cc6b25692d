import { chooseFormat } from './format.selector';

/** User-Agents as the apps send them. */
export const USER_AGENTS: [string, string][] = [
  ['v2rayN/7.10.5', 'base64'],
  ['v2rayNG/1.9.31', 'base64'],
  ['Streisand/3.0.1 CFNetwork/1496.0.7 Darwin/23.5.0', 'base64'],
  ['Shadowrocket/2070 CFNetwork/1494.0.7 Darwin/23.4.0', 'base64'],
  ['HiddifyNext/2.5.7 (android) like ClashMeta v2ray sing-box', 'base64'],
  ['curl/8.5.0', 'base64'],
  ['', 'base64'],
  ['sing-box 1.10.7', 'singbox'],
  ['SFA/1.10.7 (Android 14; sing-box 1.10.7)', 'singbox'],
  ['SFI/1.11.4 (iOS 18.1; sing-box 1.11.4)', 'singbox'],
  ['SFM/1.11.4 (macOS 15.1; sing-box 1.11.4)', 'singbox'],
  ['clash.meta', 'clash'],
  ['mihomo/1.19.1', 'clash'],
  ['clash-verge/v2.0.3', 'clash'],
  ['Clash Verge Rev', 'clash'],
  ['FlClash/v0.8.80 clash.meta', 'clash'],
  ['Stash/2.7.5 Clash/1.11.0', 'clash'],
  ['ClashMetaForAndroid/2.11.1.Meta', 'clash'],
  ['Xray/25.1.30', 'json'],
  [
    'Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4 Mobile/15E148 Safari/604.1',
    'html',
  ],
  ['Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36', 'html'],
];

describe('format selection', () => {
  it.each(USER_AGENTS)('picks for %p: %s', (ua, format) => {
    expect(chooseFormat(ua, null)).toBe(format);
  });

  it('lets ?format= override the User-Agent, and ignores an unknown value', () => {
    expect(chooseFormat('SFA/1.10.7 (Android 14; sing-box 1.10.7)', 'plain')).toBe('plain');
    expect(chooseFormat('v2rayN/7.10.5', 'json')).toBe('json');
    expect(chooseFormat('v2rayN/7.10.5', 'CLASH')).toBe('clash');
    expect(chooseFormat('Mozilla/5.0 (X11; Linux x86_64)', 'base64')).toBe('base64');
    expect(chooseFormat('mihomo/1.19.1', 'toml')).toBe('clash');
    expect(chooseFormat(undefined, null)).toBe('base64');
  });
});
