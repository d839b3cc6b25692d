import { Inject, Injectable, NestMiddleware } from '@nestjs/common';
import { NextFunction, Request, Response } from 'express';
import { AppLogger, currentRequestId, InFlight, LOGGER, runWithRequestId } from '@keyd/observability';

const QUIET = new Set(['/healthz', '/readyz', '/metrics']);

/**
 * Carries `X-Request-Id` (or a fresh id) into every log line of the request,
 * echoes it back, logs one line per request and counts it as in flight.
 */
@Injectable()
export class RequestIdMiddleware implements NestMiddleware {
  constructor(
    @Inject(LOGGER) private readonly log: AppLogger,
    private readonly inFlight: InFlight,
  ) {}

  use(req: Request, res: Response, next: NextFunction) {
    const header = req.headers['x-request-id'];
    const given = typeof header === 'string' && /^[A-Za-z0-9._:-]{1,128}$/.test(header) ? header : undefined;
    runWithRequestId(given, () => {
      const started = process.hrtime.bigint();
      const leave = this.inFlight.enter();
      res.setHeader('X-Request-Id', currentRequestId() ?? '');
      res.on('close', () => {
        leave();
        if (QUIET.has(req.path) && res.statusCode < 400) return;
        const ms = Number(process.hrtime.bigint() - started) / 1e6;
        this.log.info(
          {
            event: 'http',
            method: req.method,
            path: req.path,
            status: res.statusCode,
            duration_ms: Math.round(ms * 10) / 10,
          },
          'http request',
        );
      });
      next();
    });
  }
}
