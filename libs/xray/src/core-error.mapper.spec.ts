import { Metadata, ServiceError, status } from '@grpc/grpc-js';
import { isUserExists, isUserNotFound, toCoreError } from './core-error.mapper';
import {
  CoreCallError,
  CoreDeadlineError,
  CoreError,
  CoreInboundNotFoundError,
  CoreInvalidUserError,
  CoreUnavailableError,
  CoreUnsupportedError,
} from './xray.errors';

function grpcError(code: status, details: string): ServiceError {
  return Object.assign(new Error(`${code} ${status[code]}: ${details}`), { code, details, metadata: new Metadata() });
}

const V2 = 'v2ray.com/core/';
const EXISTS = `${V2}app/proxyman/command: failed to add user > ${V2}proxy/vless/inbound: User alice@example.com already exists.`;
const XRAY_EXISTS =
  'app/proxyman/command: failed to add user > proxy/vless/inbound: User alice@example.com already exists.';
const NOT_FOUND = `${V2}app/proxyman/command: failed to remove user > ${V2}proxy/vless/inbound: User alice@example.com not found.`;
const NO_HANDLER = `${V2}app/proxyman/command: failed to get handler: x > ${V2}app/proxyman/inbound: handler not found: x`;
const BAD_UUID = `${V2}app/proxyman/command: failed to parse user > ${V2}proxy/vless: failed to parse ID > invalid UUID: abc`;

describe('isUserExists', () => {
  it.each<[string, unknown, boolean]>([
    ['the V2Ray duplicate text', grpcError(status.UNKNOWN, EXISTS), true],
    ['the Xray duplicate text', grpcError(status.UNKNOWN, XRAY_EXISTS), true],
    ['a user not found', grpcError(status.UNKNOWN, NOT_FOUND), false],
    ['a missing handler', grpcError(status.UNKNOWN, NO_HANDLER), false],
    ['the duplicate text under another code', grpcError(status.UNAVAILABLE, EXISTS), false],
    ['a plain Error with the duplicate text', new Error(EXISTS), false],
  ])('%s → %s', (_name, error, expected) => {
    expect(isUserExists(error)).toBe(expected);
  });
});

describe('isUserNotFound', () => {
  it.each<[string, unknown, boolean]>([
    ['the missing-user text', grpcError(status.UNKNOWN, NOT_FOUND), true],
    ['the missing-user text in upper case', grpcError(status.UNKNOWN, NOT_FOUND.toUpperCase()), true],
    ['handler not found: x', grpcError(status.UNKNOWN, 'handler not found: x'), false],
    ['the full missing-handler chain', grpcError(status.UNKNOWN, NO_HANDLER), false],
    ['a duplicate user', grpcError(status.UNKNOWN, EXISTS), false],
    ['the missing-user text under NOT_FOUND', grpcError(status.NOT_FOUND, NOT_FOUND), false],
    ['a plain Error with the missing-user text', new Error(NOT_FOUND), false],
  ])('%s → %s', (_name, error, expected) => {
    expect(isUserNotFound(error)).toBe(expected);
  });
});

describe('toCoreError', () => {
  it.each<[string, unknown, new (...args: never[]) => CoreError]>([
    ['UNAVAILABLE', grpcError(status.UNAVAILABLE, 'No connection established'), CoreUnavailableError],
    ['DEADLINE_EXCEEDED', grpcError(status.DEADLINE_EXCEEDED, 'Deadline exceeded'), CoreDeadlineError],
    ['UNIMPLEMENTED', grpcError(status.UNIMPLEMENTED, 'unknown method GetInboundUsers'), CoreUnsupportedError],
    ['handler not found', grpcError(status.UNKNOWN, NO_HANDLER), CoreInboundNotFoundError],
    ['invalid UUID', grpcError(status.UNKNOWN, BAD_UUID), CoreInvalidUserError],
    [
      'another code-2 text',
      grpcError(status.UNKNOWN, `${V2}app/proxyman/command: proxy is not a UserManager`),
      CoreCallError,
    ],
    [
      'an unknown type',
      grpcError(status.UNKNOWN, 'unknown operation > unknown type: .xray.app.proxyman.command.AddUserOperation'),
      CoreCallError,
    ],
    ['an unexpected code', grpcError(status.INTERNAL, 'boom'), CoreCallError],
    ['a plain Error', new Error('socket hang up'), CoreCallError],
    ['a thrown string', 'weird', CoreCallError],
  ])('%s → %p', (_name, error, expected) => {
    const mapped = toCoreError(error, 'add_user');
    expect(mapped).toBeInstanceOf(expected);
    expect(mapped.message.startsWith('add_user: ')).toBe(true);
  });

  it('keeps the gRPC code and the details in the message', () => {
    const mapped = toCoreError(grpcError(status.UNKNOWN, NO_HANDLER), 'remove_user');
    expect(mapped.grpcCode).toBe(status.UNKNOWN);
    expect(mapped.message).toBe(`remove_user: ${NO_HANDLER}`);
  });

  it('falls back to the message when details are empty', () => {
    const e = grpcError(status.UNKNOWN, '');
    expect(toCoreError(e, 'sys_stats').message).toBe(`sys_stats: ${e.message}`);
  });

  it('returns a CoreError unchanged', () => {
    const original = new CoreInvalidUserError('add_user: not a UUID: x');
    expect(toCoreError(original, 'remove_user')).toBe(original);
  });

  it('marks only unavailable and deadline as transient', () => {
    const transient = [status.UNAVAILABLE, status.DEADLINE_EXCEEDED, status.UNIMPLEMENTED, status.UNKNOWN].map(
      (code) => toCoreError(grpcError(code, NO_HANDLER), 'x').transient,
    );
    expect(transient).toEqual([true, true, false, false]);
  });
});
