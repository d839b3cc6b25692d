import { CanActivate, ExecutionContext, Injectable } from '@nestjs/common';
import { Request } from 'express';
import { UnauthenticatedError } from '@keyd/domain';
import { AdminToken } from './admin-token.provider';
import { bearerToken, tokenMatches } from './token.compare';

/** Every /v1 route needs `Authorization: Bearer <admin token>`. */
@Injectable()
export class AdminAuthGuard implements CanActivate {
  constructor(private readonly token: AdminToken) {}

  canActivate(context: ExecutionContext): boolean {
    const req = context.switchToHttp().getRequest<Request>();
    if (!tokenMatches(bearerToken(req.headers.authorization), this.token.value)) throw new UnauthenticatedError();
    return true;
  }
}
