import { CliError } from '../exit.codes';
import { readLegacyClients } from './legacy-config.reader';

const config = JSON.stringify({
  inbounds: [
    { tag: 'api', protocol: 'dokodemo-door', settings: {} },
    { tag: 'old-in', protocol: 'vless', settings: { clients: [{ id: 'u1' }, { id: 'u2', email: 'bob@old' }] } },
    { tag: 'vless-in', protocol: 'vless', settings: { clients: [{ id: 'u3', email: 'carol@old' }] } },
  ],
});

describe('readLegacyClients', () => {
  it("reads the clients of the inbound with the daemon's tag", () => {
    expect(readLegacyClients(config, 'vless-in')).toEqual({
      tag: 'vless-in',
      clients: [{ uuid: 'u3', email: 'carol@old' }],
    });
  });

  it('with auto takes the first VLESS inbound; a client without an email gets an empty one', () => {
    expect(readLegacyClients(config, 'auto')).toEqual({
      tag: 'old-in',
      clients: [
        { uuid: 'u1', email: '' },
        { uuid: 'u2', email: 'bob@old' },
      ],
    });
  });

  it('refuses a file without that inbound, or one that is not JSON, as bad arguments', () => {
    expect(() => readLegacyClients(config, 'missing')).toThrow(/no inbound tagged "missing".*--inbound auto/);
    expect(() => readLegacyClients('{"inbounds": [', 'auto')).toThrow(CliError);
    expect(() => readLegacyClients('{}', 'auto')).toThrow(/no VLESS inbound/);
  });
});
