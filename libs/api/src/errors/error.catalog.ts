import { status as GrpcStatus } from '@grpc/grpc-js';
import { HttpStatus } from '@nestjs/common';
import { DomainErrorCode } from '@keyd/domain';

export interface TransportStatus {
  grpc: GrpcStatus;
  http: HttpStatus;
}

/** The one place where a domain error becomes a status code, for every transport. */
export const ERROR_CATALOG: Record<DomainErrorCode | 'INTERNAL', TransportStatus> = {
  INVALID_ARGUMENT: { grpc: GrpcStatus.INVALID_ARGUMENT, http: HttpStatus.BAD_REQUEST },
  NOT_FOUND: { grpc: GrpcStatus.NOT_FOUND, http: HttpStatus.NOT_FOUND },
  CONFLICT: { grpc: GrpcStatus.FAILED_PRECONDITION, http: HttpStatus.CONFLICT },
  UNAUTHENTICATED: { grpc: GrpcStatus.UNAUTHENTICATED, http: HttpStatus.UNAUTHORIZED },
  INTERNAL: { grpc: GrpcStatus.INTERNAL, http: HttpStatus.INTERNAL_SERVER_ERROR },
};
