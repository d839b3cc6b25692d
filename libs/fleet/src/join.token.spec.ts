import { formatJoinToken, parseJoinToken } from './join.token';

describe('join tokens', () => {
  const token = { secret: 'a'.repeat(43), caFingerprint: 'f'.repeat(64) };

  it('carry the secret and the CA fingerprint, and read back as written', () => {
    expect(formatJoinToken(token)).toBe(`keyd1.${'a'.repeat(43)}.${'f'.repeat(64)}`);
    expect(parseJoinToken(formatJoinToken(token))).toEqual(token);
  });

  it('are refused when any part is missing or malformed', () => {
    for (const bad of [
      '',
      `keyd2.${'a'.repeat(43)}.${'f'.repeat(64)}`,
      `keyd1.${'a'.repeat(42)}.${'f'.repeat(64)}`,
      `keyd1.${'a'.repeat(43)}.${'F'.repeat(64)}`,
      `keyd1.${'a'.repeat(43)}`,
    ])
      expect(parseJoinToken(bad)).toBeNull();
  });
});
