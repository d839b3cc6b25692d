/** Typed failures of the core client. The domain decides what each means; none is swallowed here. */
export abstract class CoreError extends Error {
  abstract readonly kind: CoreErrorKind;
  constructor(
    message: string,
    readonly grpcCode?: number,
  ) {
    super(message);
    this.name = new.target.name;
  }
  /** Worth retrying later without a change on our side. */
  get transient(): boolean {
    return this.kind === 'unavailable' || this.kind === 'deadline';
  }
}

export type CoreErrorKind =
  'unavailable' | 'deadline' | 'inbound_not_found' | 'invalid_user' | 'unsupported' | 'call_failed';

export class CoreUnavailableError extends CoreError {
  readonly kind = 'unavailable';
}
export class CoreDeadlineError extends CoreError {
  readonly kind = 'deadline';
}
export class CoreInboundNotFoundError extends CoreError {
  readonly kind = 'inbound_not_found';
}
export class CoreInvalidUserError extends CoreError {
  readonly kind = 'invalid_user';
}
export class CoreUnsupportedError extends CoreError {
  readonly kind = 'unsupported';
}
export class CoreCallError extends CoreError {
  readonly kind = 'call_failed';
}
