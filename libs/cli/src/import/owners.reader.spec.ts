import { CliError } from '../exit.codes';
import { readOwners } from './owners.reader';

describe('readOwners', () => {
  it('reads CSV by header name, in any column order, with each row its file line', () => {
    const rows = readOwners(
      'uuid,owner_id,subscription_end,data_limit_bytes\n\nu1,alice,1900000000,10\n"u2",bob,2030-01-01T00:00:00Z\n',
    );
    expect(rows).toEqual([
      {
        line: 3,
        owner_id: 'alice',
        uuid: 'u1',
        subscription_end: '1900000000',
        data_limit_bytes: '10',
        data_limit_reset: '',
        error: '',
      },
      expect.objectContaining({ line: 4, owner_id: 'bob', error: '3 fields, the header has 4' }),
    ]);
  });

  it('refuses a CSV header without the required columns', () => {
    expect(() => readOwners('owner,uuid\nalice,u1\n')).toThrow(CliError);
    expect(() => readOwners('owner,uuid\nalice,u1\n')).toThrow(/lacks owner_id, subscription_end/);
  });

  it('reads JSON Lines, numbers as text, and marks a line that is not an object', () => {
    const rows = readOwners('{"owner_id":"alice","uuid":"u1","subscription_end":1900000000}\n\n[1]\n{"owner_id":"bob"');
    expect(rows.map((r) => [r.line, r.owner_id, r.subscription_end, r.error])).toEqual([
      [1, 'alice', '1900000000', ''],
      [3, '', '', 'not a JSON object'],
      [4, '', '', 'not a JSON object'],
    ]);
  });
});
