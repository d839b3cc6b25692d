import { ArgumentsHost, Catch, ExceptionFilter, HttpException, Inject } from '@nestjs/common';
import { Response } from 'express';
import { throwError } from 'rxjs';
import { DomainError } from '@keyd/domain';
import { AppLogger, LOGGER } from '@keyd/observability';
import { ERROR_CATALOG } from './error.catalog';

interface Mapped {
  code: keyof typeof ERROR_CATALOG | string;
  message: string;
  http: number;
  grpc: number;
}

/**
 * Maps every error thrown below a controller, for HTTP and gRPC alike. Domain
 * errors keep their message; anything else is logged and answered as INTERNAL
 * without internals leaking to the caller.
 */
@Catch()
export class DomainExceptionFilter implements ExceptionFilter {
  constructor(@Inject(LOGGER) private readonly log: AppLogger) {}

  catch(error: unknown, host: ArgumentsHost) {
    const mapped = this.map(error);
    if (host.getType() === 'rpc') return throwError(() => ({ code: mapped.grpc, message: mapped.message }));
    const res = host.switchToHttp().getResponse<Response>();
    res.status(mapped.http).json({ error: { code: mapped.code, message: mapped.message } });
  }

  private map(error: unknown): Mapped {
    if (error instanceof DomainError) return { code: error.code, message: error.message, ...ERROR_CATALOG[error.code] };
    if (error instanceof HttpException) {
      // Framework-level refusals (unknown route, body too large, malformed JSON).
      const status = error.getStatus();
      const code =
        status === 404
          ? 'NOT_FOUND'
          : status === 413
            ? 'PAYLOAD_TOO_LARGE'
            : status < 500
              ? 'INVALID_ARGUMENT'
              : 'INTERNAL';
      return { code, message: error.message, http: status, grpc: ERROR_CATALOG.INTERNAL.grpc };
    }
    const status = (error as { status?: unknown } | null)?.status;
    if (
      typeof status === 'number' &&
      status >= 400 &&
      status < 500 &&
      (error as { expose?: unknown }).expose === true
    ) {
      // A refusal from the body parser (malformed or oversized body), raised before any controller ran.
      const code = status === 413 ? 'PAYLOAD_TOO_LARGE' : 'INVALID_ARGUMENT';
      return { code, message: (error as Error).message, http: status, grpc: ERROR_CATALOG.INVALID_ARGUMENT.grpc };
    }
    this.log.error({ err: error }, 'unhandled error');
    return { code: 'INTERNAL', message: 'internal error', ...ERROR_CATALOG.INTERNAL };
  }
}
