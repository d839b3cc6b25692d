import { randomUUID } from 'node:crypto';
import { createLogger } from './pino.logger';

/** A logger at trace level whose lines are collected, parsed. */
function capture() {
  const lines: string[] = [];
  const log = createLogger('trace', false, { write: (line: string) => lines.push(line) });
  return {
    log,
    text: () => lines.join(''),
    last: () => JSON.parse(lines[lines.length - 1]) as Record<string, unknown>,
  };
}

/** What TypeORM throws for a failed statement: the SQL and its parameters ride along. */
class QueryFailedError extends Error {
  constructor(
    readonly query: string,
    readonly parameters: unknown[],
    readonly driverError: Error & { code: string },
  ) {
    super(driverError.message);
    this.name = 'QueryFailedError';
  }
}

describe('log lines', () => {
  it('carry no full UUID, in fields, nested fields, messages and error messages', () => {
    const { log, text, last } = capture();
    const uuid = randomUUID();
    log.info({ email: `tg-1.${uuid}`, nested: { list: [`x ${uuid} y`] } }, `about ${uuid}`);
    expect(last()['email']).toBe(`tg-1.${uuid.slice(0, 8)}-…`);
    log.error({ err: new Error(`User tg-1.${uuid} already exists.`) }, 'failed');
    expect(text()).not.toContain(uuid);
    expect(text()).toContain(uuid.slice(0, 8));
  });

  it('carry no full UUID in a message pino takes from an error, or in format arguments', () => {
    const { log, text } = capture();
    const uuid = randomUUID();
    log.error(new Error(`core said ${uuid}`));
    log.error({ err: new Error(`core said ${uuid}`) });
    log.info('about %o', { email: uuid });
    expect(text()).not.toContain(uuid);
    expect(text()).toContain(`core said ${uuid.slice(0, 8)}-…`);
  });

  it('redact fields named for secrets', () => {
    const { log, text } = capture();
    const token = 'Zm9vYmFyYmF6cXV4cXV1eHF1dXhxdXV4';
    log.info({ uuid: 'not-a-uuid-shaped-secret', subscription_token: token, key: { subscriptionToken: token } }, 'x');
    expect(text()).not.toContain(token);
    expect(text()).not.toContain('not-a-uuid-shaped-secret');
  });

  it("drop a QueryFailedError's query, parameters and driver error, keeping its message, type and code", () => {
    const { log, text, last } = capture();
    const secret = 'subscription-token-secret-0123456789';
    const driverError = Object.assign(new Error('SQLITE_CONSTRAINT: UNIQUE constraint failed: keys.email'), {
      code: 'SQLITE_CONSTRAINT',
    });
    const e = Object.assign(new QueryFailedError('INSERT INTO keys VALUES (?, ?)', [secret, 'x'], driverError), {
      code: 'SQLITE_CONSTRAINT',
    });
    log.error({ err: e }, 'write failed');
    expect(text()).not.toContain(secret);
    expect(text()).not.toContain('INSERT INTO');
    const err = last()['err'] as Record<string, unknown>;
    expect(err).toMatchObject({
      type: 'QueryFailedError',
      message: 'SQLITE_CONSTRAINT: UNIQUE constraint failed: keys.email',
      code: 'SQLITE_CONSTRAINT',
    });
    expect(err['stack']).toEqual(expect.stringContaining('QueryFailedError'));
  });
});
