import { CallHandler, ExecutionContext, Injectable, NestInterceptor } from '@nestjs/common';
import { Metadata } from '@grpc/grpc-js';
import { Observable } from 'rxjs';
import { InvalidArgumentError } from '@keyd/domain';
import { InFlight, MALFORMED, runWithRequestId } from '@keyd/observability';

/** Carries `x-request-id` metadata (or a fresh id) into every log line of the call, and counts it as in flight. */
@Injectable()
export class GrpcRequestIdInterceptor implements NestInterceptor {
  constructor(private readonly inFlight: InFlight) {}

  intercept(context: ExecutionContext, next: CallHandler): Observable<unknown> {
    const metadata = context.switchToRpc().getContext<Metadata>();
    const id = metadata?.get?.('x-request-id')?.[0]?.toString();
    const data = context.switchToRpc().getData<Record<symbol, unknown> | undefined>();
    if (data && MALFORMED in data)
      throw new InvalidArgumentError('request', `not a valid protobuf message: ${String(data[MALFORMED])}`);
    return new Observable((subscriber) => {
      const leave = this.inFlight.enter();
      const sub = runWithRequestId(id, () => next.handle().subscribe(subscriber));
      sub.add(leave);
      return sub;
    });
  }
}
