import { emailFor, newSubscriptionToken } from './key.factory';

describe('key randomness', () => {
  it('gives every token 192 fresh bits, URL-safe, never twice, across many refills of its pool', () => {
    const tokens = Array.from({ length: 5000 }, () => newSubscriptionToken());
    expect(new Set(tokens).size).toBe(tokens.length);
    for (const t of tokens) expect(t).toMatch(/^[A-Za-z0-9_-]{32}$/);
  });

  it('gives every email 16 fresh hex digits after the owner slug, never twice', () => {
    const emails = Array.from({ length: 5000 }, () => emailFor('Owner Name'));
    expect(new Set(emails).size).toBe(emails.length);
    for (const e of emails) expect(e).toMatch(/^owner-name\.[0-9a-f]{16}$/);
    // Tokens and emails draw from one pool: interleaved, neither repeats the other's bytes.
    const mixed = Array.from({ length: 2000 }, (_, i) => (i % 2 ? newSubscriptionToken() : emailFor('x').slice(2)));
    expect(new Set(mixed).size).toBe(mixed.length);
  });
});
