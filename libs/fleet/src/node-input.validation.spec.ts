import { InvalidArgumentError } from '@keyd/domain';
import { deleteForce, newNode, nodeName, nodePatch } from './node-input.validation';

const refused = (run: () => unknown): { field: string; message: string } => {
  try {
    run();
  } catch (e) {
    if (e instanceof InvalidArgumentError) return { field: e.field, message: e.message };
    throw e;
  }
  throw new Error('accepted');
};

const base = { name: 'node-a', public_host: 'edge.example.com', public_port: 443 };

describe('node commands', () => {
  it('fills the defaults of a new node and drops unset link fields, whether JSON omits them or proto3 sends blanks', () => {
    expect(newNode(base)).toEqual({
      name: 'node-a',
      group: 'default',
      publicHost: 'edge.example.com',
      publicPort: 443,
      link: {},
      enabled: true,
    });
    const fromGrpc = newNode({
      ...base,
      group: '',
      public_port: '8443',
      link: {
        security: 'reality',
        type: '',
        flow: 'xtls-rprx-vision',
        sni: 'www.example.com',
        pbk: 'abc_-=',
        sid: '',
        fp: '',
      },
      enabled: false,
    });
    expect(fromGrpc).toMatchObject({
      group: 'default',
      publicPort: 8443,
      link: { security: 'reality', flow: 'xtls-rprx-vision', sni: 'www.example.com', pbk: 'abc_-=' },
      enabled: false,
    });
  });

  it.each([
    [{ ...base, name: '' }, 'name', 'is required'],
    [{ ...base, name: 'a b' }, 'name', 'must be 1-64 letters, digits or . _ -'],
    [{ ...base, group: 'x'.repeat(65) }, 'group', 'must be 1-64 letters, digits or . _ -'],
    [{ ...base, public_host: 'a host' }, 'public_host', 'must be a host name or an IP address'],
    [{ ...base, public_host: undefined }, 'public_host', 'is required'],
    [{ ...base, public_port: 70_000 }, 'public_port', 'must be a port from 1 to 65535'],
    [{ ...base, public_port: '0' }, 'public_port', 'must be a port from 1 to 65535'],
    [{ ...base, link: [] }, 'link', 'must be an object'],
    [{ ...base, link: { security: 'plain' } }, 'link.security', 'must be one of reality, tls, none'],
    [{ ...base, link: { type: 'quic' } }, 'link.type', 'must be one of tcp, ws, grpc, httpupgrade, xhttp, kcp'],
    [{ ...base, link: { sni: 'a b' } }, 'link.sni', 'has characters a link cannot carry'],
    [{ ...base, link: { security: 'reality', sni: 'x.example' } }, 'link.pbk', 'REALITY links need pbk and sni'],
    [{ ...base, enabled: 'yes' }, 'enabled', 'must be true or false'],
  ])('refuses %j, naming %s', (input, field, message) => {
    expect(refused(() => newNode(input))).toEqual({ field, message: expect.stringContaining(message) as string });
  });

  it('changes only the fields a patch gives', () => {
    expect(nodePatch({ public_port: 8443 })).toEqual({
      group: undefined,
      publicHost: undefined,
      publicPort: 8443,
      link: undefined,
      enabled: undefined,
    });
    expect(nodePatch({ group: '', public_host: '', link: null, enabled: false })).toMatchObject({ enabled: false });
    expect(refused(() => nodePatch({ public_host: 'a b' })).field).toBe('public_host');
    expect(nodeName('node-b')).toBe('node-b');
    expect(refused(() => nodeName(7)).field).toBe('name');
  });

  it("reads DeleteNode's force from gRPC's boolean or a query string, and refuses anything else", () => {
    expect([true, false, 'true', 'false', '', undefined].map(deleteForce)).toEqual([
      true,
      false,
      true,
      false,
      false,
      false,
    ]);
    expect(refused(() => deleteForce('maybe')).field).toBe('force');
    expect(refused(() => deleteForce(1)).field).toBe('force');
  });
});
