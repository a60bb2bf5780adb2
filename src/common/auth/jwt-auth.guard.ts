import { ExecutionContext, Injectable } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { AuthGuard } from '@nestjs/passport';
import { unauthorized } from '../errors/app-error';
import { Public } from './public.decorator';

/** Global: every route needs a valid bearer token unless it is marked @Public(). */
@Injectable()
export class JwtAuthGuard extends AuthGuard('jwt') {
  constructor(private readonly reflector: Reflector) {
    super();
  }

  override canActivate(context: ExecutionContext) {
    const isPublic = this.reflector.getAllAndOverride(Public, [
      context.getHandler(),
      context.getClass(),
    ]);
    if (isPublic) return true;
    return super.canActivate(context);
  }

  /**
   * A bad, expired or foreign token is a plain 401 (passport reports it as no user). `err` is set
   * only when the strategy itself failed (the user lookup threw): that is the database, not the
   * caller, so it goes to the error filter (503/500) instead of posing as a 401.
   */
  override handleRequest<TUser>(err: unknown, user: TUser | false): TUser {
    if (err) throw err instanceof Error ? err : unauthorized();
    if (!user) throw unauthorized();
    return user;
  }
}
