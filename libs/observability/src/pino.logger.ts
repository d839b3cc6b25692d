import { LoggerService } from '@nestjs/common';
import pino, { Logger } from 'pino';
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
];

/** JSON lines, or human-readable output when attached to a terminal. */
export function createLogger(level: string, pretty = process.stdout.isTTY === true): AppLogger {
  return pino({
    level,
    base: { service: 'keyd' },
    timestamp: pino.stdTimeFunctions.isoTime,
    redact: { paths: REDACT, censor: '[redacted]' },
    mixin: () => {
      const requestId = currentRequestId();
      return requestId ? { correlation_id: requestId } : {};
    },
    ...(pretty ? { transport: { target: 'pino-pretty', options: { colorize: true } } } : {}),
  });
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
