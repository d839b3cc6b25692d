import { CallHandler, ExecutionContext, Injectable, NestInterceptor } from '@nestjs/common';
import { Metadata } from '@grpc/grpc-js';
import { Observable } from 'rxjs';
import { runWithRequestId } from '@keyd/observability';

/** Carries `x-request-id` metadata (or a fresh id) into every log line of the call. */
@Injectable()
export class GrpcRequestIdInterceptor implements NestInterceptor {
  intercept(context: ExecutionContext, next: CallHandler): Observable<unknown> {
    const metadata = context.switchToRpc().getContext<Metadata>();
    const id = metadata?.get?.('x-request-id')?.[0]?.toString();
    return new Observable((subscriber) => runWithRequestId(id, () => next.handle().subscribe(subscriber)));
  }
}
