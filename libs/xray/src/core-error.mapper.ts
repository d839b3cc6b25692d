import { status, ServiceError } from '@grpc/grpc-js';
import {
  CoreCallError,
  CoreDeadlineError,
  CoreError,
  CoreInboundNotFoundError,
  CoreInvalidUserError,
  CoreUnavailableError,
  CoreUnsupportedError,
} from './xray.errors';

function isServiceError(e: unknown): e is ServiceError {
  return typeof e === 'object' && e !== null && 'code' in e && typeof (e as ServiceError).code === 'number';
}

/**
 * The cores answer most failures with code 2 (UNKNOWN) and a Go error chain in
 * `details`, so the text is the only way to tell them apart.
 */
export function textOf(e: unknown): string {
  if (isServiceError(e)) return e.details || e.message;
  return e instanceof Error ? e.message : String(e);
}

export const isUserExists = (e: unknown) =>
  isServiceError(e) && e.code === status.UNKNOWN && /User \S.* already exists\./i.test(textOf(e));

export const isUserNotFound = (e: unknown) =>
  isServiceError(e) &&
  e.code === status.UNKNOWN &&
  /User \S.* not found\./i.test(textOf(e)) &&
  !/handler not found/i.test(textOf(e));

export function toCoreError(e: unknown, context: string): CoreError {
  if (e instanceof CoreError) return e;
  if (!isServiceError(e)) return new CoreCallError(`${context}: ${textOf(e)}`);
  const text = textOf(e);
  const message = `${context}: ${text}`;
  switch (e.code) {
    case status.UNAVAILABLE:
      return new CoreUnavailableError(message, e.code);
    case status.DEADLINE_EXCEEDED:
      return new CoreDeadlineError(message, e.code);
    case status.UNIMPLEMENTED:
      return new CoreUnsupportedError(message, e.code);
    default:
      // The core answers its own refusals as UNKNOWN; only the text tells them apart.
      if (/handler not found/i.test(text)) return new CoreInboundNotFoundError(message, e.code);
      if (/invalid UUID|failed to parse (ID|user)|failed to get .*account/i.test(text))
        return new CoreInvalidUserError(message, e.code);
      return new CoreCallError(message, e.code);
  }
}
