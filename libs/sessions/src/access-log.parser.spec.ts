import * as fc from 'fast-check';
import { parseAccessLine } from './access-log.parser';

const EMAIL = 'alice.3f1c9a52-6f43-4c0e-9a43-8e3c1d2b7a10';

describe('parseAccessLine', () => {
  it('reads the V2Ray 4.34 format', () => {
    expect(parseAccessLine(`2026/12/02 08:00:00 127.0.0.2:50039 accepted tcp:127.0.0.1:8080 email: ${EMAIL}`)).toEqual({
      email: EMAIL,
      ip: '127.0.0.2',
      port: 50039,
    });
  });

  it('reads the Xray formats: "from", a network prefix, IPv6, the route in brackets, trailing blanks', () => {
    const cases: [string, string, number][] = [
      [
        `2026/12/02 08:00:00.123456 from 203.0.113.7:443 accepted tcp:example.com:443 [vless-in -> direct] email: ${EMAIL}`,
        '203.0.113.7',
        443,
      ],
      [
        `2026/12/02 08:00:00 from tcp:198.51.100.1:6000 accepted udp:1.1.1.1:53 [in >> out] email: ${EMAIL}`,
        '198.51.100.1',
        6000,
      ],
      [`2026/12/02 08:00:00 from [::1]:50040 accepted tcp:example.com:80 email: ${EMAIL} `, '::1', 50040],
      [`2026/12/02 08:00:00 from tcp:[2001:DB8:0:0::1]:1 accepted tcp:x:1 email: ${EMAIL}\r`, '2001:db8::1', 1],
      [`2026/12/02 08:00:00 from [::ffff:127.0.0.3]:9 accepted tcp:x:1 email: ${EMAIL}`, '127.0.0.3', 9],
    ];
    for (const [line, ip, port] of cases) expect(parseAccessLine(line)).toEqual({ email: EMAIL, ip, port });
  });

  it('ignores rejections, lines without an email, DNS lines and malformed addresses', () => {
    for (const line of [
      `2026/12/02 08:00:00 127.0.0.2:50039 rejected  invalid request email: ${EMAIL}`,
      `2026/12/02 08:00:00 127.0.0.2:50039 accepted tcp:127.0.0.1:8080`,
      // A destination ending in "email" must not turn its port into an email.
      `2026/12/02 08:00:00 127.0.0.2:50039 accepted tcp:evil email:443`,
      `2026/12/02 08:00:00 127.0.0.2:50039 accepted tcp:evil email: victim:443 [in -> out]`,
      `2026/12/02 08:00:00 from DNS accepted udp:8.8.8.8:53 email: ${EMAIL}`,
      `2026/12/02 08:00:00 127.0.0.300:5 accepted tcp:x:1 email: ${EMAIL}`,
      `2026/12/02 08:00:00 127.0.0.02:5 accepted tcp:x:1 email: ${EMAIL}`,
      `2026/12/02 08:00:00 127.0.0.2:0 accepted tcp:x:1 email: ${EMAIL}`,
      `2026/12/02 08:00:00 127.0.0.2:65536 accepted tcp:x:1 email: ${EMAIL}`,
      `2026/12/02 08:00:00 [:::1]:5 accepted tcp:x:1 email: ${EMAIL}`,
      `2026/12/02 08:00:00 from [fe80::1%eth0]:5 accepted tcp:x:1 email: ${EMAIL}`,
      '',
    ])
      expect(parseAccessLine(line)).toBeNull();
  });

  const ipv4 = fc.tuple(fc.nat(255), fc.nat(255), fc.nat(255), fc.nat(255)).map((o) => o.join('.'));
  const port = fc.integer({ min: 1, max: 65_535 });
  const email = fc.stringMatching(/^[a-z0-9_@.+-]{1,64}$/);
  /** What a client puts in the destination (or a sniffed host): anything but a newline. */
  const hostile = fc.oneof(
    fc.string({ unit: 'binary', maxLength: 200 }).map((s) => s.replace(/[\r\n]/g, '')),
    fc
      .array(
        fc.constantFrom(
          'email: ',
          'email:',
          'email',
          ' email',
          'accepted ',
          'from ',
          '[',
          ']',
          ' -> ',
          ' ',
          'victim.x',
          ':443',
          '127.0.0.9:1 ',
        ),
        { maxLength: 12 },
      )
      .map((parts) => parts.join('')),
  );
  const routes = fc.constantFrom('', '[vless-in -> direct] ', '[a >> b] ');

  it('whatever the client puts in the destination, the address and email are the core-written ones', () => {
    fc.assert(
      fc.property(
        ipv4,
        port,
        hostile,
        fc.integer({ min: 1, max: 65_535 }),
        routes,
        email,
        fc.boolean(),
        (ip, p, host, dport, route, mail, xray) => {
          const line = `2026/12/02 08:00:00 ${xray ? 'from ' : ''}${ip}:${p} accepted tcp:${host}:${dport} ${route}email: ${mail}`;
          expect(parseAccessLine(line)).toEqual({ email: mail, ip, port: p });
        },
      ),
      { numRuns: 2000 },
    );
  });

  it('a line whose own email is missing never yields an email the client wrote', () => {
    fc.assert(
      fc.property(ipv4, port, hostile, fc.integer({ min: 1, max: 65_535 }), routes, (ip, p, host, dport, route) => {
        const parsed = parseAccessLine(`2026/12/02 08:00:00 ${ip}:${p} accepted tcp:${host}:${dport} ${route}`);
        expect(parsed).toBeNull();
      }),
      { numRuns: 2000 },
    );
  });

  it('never throws on arbitrary input', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary', maxLength: 6000 }), (line) => {
        const parsed = parseAccessLine(line);
        if (parsed) expect(parsed.email).toMatch(/^[^\s:[\]]+$/);
      }),
      { numRuns: 2000 },
    );
  });
});
