import { LoggerService } from '@nestjs/common';
import pino, { DestinationStream, Logger } from 'pino';
import { maskUuids, scrubLogFields } from './log.scrubber';
import { currentRequestId } from './request.context';

export const LOGGER = Symbol('LOGGER');
export type AppLogger = Logger;

/** Paths that may carry secrets; pino replaces them before a line is written. */
const REDACT = [
  'token',
  '*.token',
  'authorization',
  '*.authorization',
  'headers.authorization',
  'req.headers.authorization',
  'apiToken',
  '*.apiToken',
  'adminToken',
  '*.adminToken',
  'subscriptionToken',
  '*.subscriptionToken',
  'subscription_token',
  '*.subscription_token',
  'subscription_url',
  '*.subscription_url',
  'uuid',
  '*.uuid',
  'joinToken',
  '*.joinToken',
  'join_token',
  '*.join_token',
];

/**
 * JSON lines, or human-readable output when attached to a terminal. No line
 * carries a full UUID (a key's credential): fields named for secrets are
 * redacted, errors keep only their message, stack and codes, and UUIDs left
 * anywhere in the written line (older keys' emails hold theirs, core errors
 * quote emails) are cut to their first 8 hex digits.
 */
export function createLogger(
  level: string,
  pretty = process.stdout.isTTY === true,
  destination?: DestinationStream,
): AppLogger {
  const options: pino.LoggerOptions = {
    level,
    base: { service: 'keyd' },
    timestamp: pino.stdTimeFunctions.isoTime,
    redact: { paths: REDACT, censor: '[redacted]' },
    // Runs before pino's serializers and redaction, so that errors are reduced to their safe fields.
    formatters: { log: (fields) => scrubLogFields(fields) as Record<string, unknown> },
    // Errors are already reduced to plain objects above; pino's own serializer would rename their type.
    serializers: { err: (e: unknown) => e },
    // The finished line, so that no path around it is left: a message pino takes from an error, format arguments.
    hooks: { streamWrite: maskUuids },
    mixin: () => {
      const requestId = currentRequestId();
      return requestId ? { correlation_id: requestId } : {};
    },
    ...(pretty ? { transport: { target: 'pino-pretty', options: { colorize: true } } } : {}),
  };
  return destination ? pino(options, destination) : pino(options);
}

/** Lets Nest's own messages go through the same logger. */
export class NestPinoLogger implements LoggerService {
  constructor(private readonly logger: AppLogger) {}
  log(message: unknown, context?: string) {
    this.logger.info({ context }, String(message));
  }
  error(message: unknown, trace?: string, context?: string) {
    this.logger.error({ context, trace }, String(message));
  }
  warn(message: unknown, context?: string) {
    this.logger.warn({ context }, String(message));
  }
  debug(message: unknown, context?: string) {
    this.logger.debug({ context }, String(message));
  }
  verbose(message: unknown, context?: string) {
    this.logger.trace({ context }, String(message));
  }
}
