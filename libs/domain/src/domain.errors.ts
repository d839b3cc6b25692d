/**
 * Errors the domain speaks. Services throw only these; each transport maps them
 * through one catalog (libs/api/src/errors/error.catalog.ts).
 */
export abstract class DomainError extends Error {
  abstract readonly code: DomainErrorCode;
  constructor(message: string) {
    super(message);
    this.name = new.target.name;
  }
}

export type DomainErrorCode = 'INVALID_ARGUMENT' | 'NOT_FOUND' | 'CONFLICT' | 'UNAUTHENTICATED';

export class InvalidArgumentError extends DomainError {
  readonly code = 'INVALID_ARGUMENT';
  constructor(
    readonly field: string,
    reason: string,
  ) {
    super(`${field}: ${reason}`);
  }
}

export class NotFoundError extends DomainError {
  readonly code = 'NOT_FOUND';
}

/** The request is well formed but the key's state forbids it, such as changing a revoked key. */
export class ConflictError extends DomainError {
  readonly code = 'CONFLICT';
}

export class UnauthenticatedError extends DomainError {
  readonly code = 'UNAUTHENTICATED';
  constructor(message = 'missing or invalid bearer token') {
    super(message);
  }
}
