import { GrpcStatus } from './keyd.client';

/** The CLI's exit codes follow the gRPC status of the call that failed. */
export const EXIT = {
  OK: 0,
  FAILED: 1,
  BAD_ARGUMENTS: 2,
  NOT_FOUND: 3,
  UNAUTHENTICATED: 4,
  UNAVAILABLE: 5,
} as const;

export type ExitCode = (typeof EXIT)[keyof typeof EXIT];

export function exitCodeFor(grpcCode: number): ExitCode {
  switch (grpcCode) {
    case GrpcStatus.OK:
      return EXIT.OK;
    case GrpcStatus.INVALID_ARGUMENT:
      return EXIT.BAD_ARGUMENTS;
    case GrpcStatus.NOT_FOUND:
      return EXIT.NOT_FOUND;
    case GrpcStatus.UNAUTHENTICATED:
      return EXIT.UNAUTHENTICATED;
    case GrpcStatus.UNAVAILABLE:
    case GrpcStatus.DEADLINE_EXCEEDED:
      return EXIT.UNAVAILABLE;
    default:
      return EXIT.FAILED;
  }
}

/** A failure the CLI found itself (a bad file, a missing binary), with the exit code it means. */
export class CliError extends Error {
  constructor(
    message: string,
    readonly exitCode: ExitCode = EXIT.FAILED,
  ) {
    super(message);
    this.name = 'CliError';
  }
}
