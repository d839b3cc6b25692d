import { Injectable, NestMiddleware } from '@nestjs/common';
import { NextFunction, Request, Response } from 'express';
import { runWithRequestId } from '@keyd/observability';

/** Carries `X-Request-Id` (or a fresh id) into every log line of the request, and echoes it back. */
@Injectable()
export class RequestIdMiddleware implements NestMiddleware {
  use(req: Request, res: Response, next: NextFunction) {
    const header = req.headers['x-request-id'];
    const given = typeof header === 'string' && /^[A-Za-z0-9._:-]{1,128}$/.test(header) ? header : undefined;
    runWithRequestId(given, () => {
      res.setHeader('X-Request-Id', given ?? '');
      next();
    });
  }
}
