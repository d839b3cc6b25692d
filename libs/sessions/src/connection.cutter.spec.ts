import { ConnectionCutter, CutError, ssFilter } from './connection.cutter';

describe('ssFilter', () => {
  it('matches exactly the given client endpoints on the local port, both IPv4 spellings', () => {
    expect(
      ssFilter(443, [
        { ip: '127.0.0.2', port: 50039 },
        { ip: '::1', port: 7 },
      ]),
    ).toEqual([
      '(',
      'sport',
      '=',
      ':443',
      ')',
      'and',
      '(',
      '(',
      'dst',
      '127.0.0.2',
      'and',
      'dport',
      '=',
      ':50039',
      ')',
      'or',
      '(',
      'dst',
      '[::ffff:127.0.0.2]',
      'and',
      'dport',
      '=',
      ':50039',
      ')',
      'or',
      '(',
      'dst',
      '[::1]',
      'and',
      'dport',
      '=',
      ':7',
      ')',
      ')',
    ]);
  });

  it('refuses anything that is not a canonical address and a port', () => {
    for (const bad of [
      { ip: '127.0.0.2 or sport = :22', port: 1 },
      { ip: '127.0.0.2', port: 0 },
      { ip: '127.0.0.2', port: 1.5 },
      { ip: '::FFFF:127.0.0.2', port: 1 },
      { ip: 'localhost', port: 1 },
    ])
      expect(() => ssFilter(443, [bad])).toThrow(/invalid endpoint/);
    expect(() => ssFilter(70_000, [])).toThrow(/invalid local port/);
  });
});

describe('ConnectionCutter', () => {
  it('counts destroyed sockets and turns a refused SOCK_DESTROY into an error', async () => {
    const ok = new ConnectionCutter(async () => ({ stdout: 'a\nb\n', stderr: '' }));
    expect(await ok.cut(443, [{ ip: '10.0.0.1', port: 5 }])).toBe(2);
    const refused = new ConnectionCutter(async () => ({
      stdout: '',
      stderr: 'SOCK_DESTROY answers: Operation not permitted\n',
    }));
    await expect(refused.cut(443, [{ ip: '10.0.0.1', port: 5 }])).rejects.toBeInstanceOf(CutError);
  });
});
