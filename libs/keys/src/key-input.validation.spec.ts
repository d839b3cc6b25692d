import { InvalidArgumentError } from '@keyd/domain';
import { ownerId } from './key-input.validation';

describe('owner ids', () => {
  it('are normalized to NFC, so composed and decomposed accents name one owner', () => {
    const decomposed = 'jose\u0301';
    expect(ownerId(decomposed)).toBe('jos\u00e9');
    expect(ownerId(decomposed)).toBe(ownerId('jos\u00e9'));
  });

  it.each([
    ['a right-to-left override', 'tg:1\u202E0001'],
    ['a right-to-left isolate', 'tg:\u20671001\u2069'],
    ['a left-to-right mark', 'tg:1001\u200E'],
    ['an Arabic letter mark', 'tg:\u061C1001'],
    ['a zero-width space', 'tg:10\u200B01'],
    ['a zero-width joiner', 'tg:10\u200D01'],
    ['a word joiner', 'tg:10\u206001'],
    ['a byte order mark', '\uFEFFtg:1001'],
  ])('refuse %s with INVALID_ARGUMENT', (_name, value) => {
    expect(() => ownerId(value)).toThrow(InvalidArgumentError);
    expect(() => ownerId(value)).toThrow(/bidirectional-control or zero-width/);
  });

  it('keep visible non-Latin text', () => {
    expect(ownerId('tg:Дмитрий-李')).toBe('tg:Дмитрий-李');
  });
});
