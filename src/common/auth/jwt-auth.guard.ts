import { ExecutionContext, HttpException, Injectable } from '@nestjs/common';
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
   * `err` is set only when checking the token itself failed (the user lookup), never for a bad
   * token (passport reports that as `info`): a database that cannot be reached is the server's
   * problem, so it goes on to the error filter (503) instead of telling the client its token
   * is invalid.
   */
  override handleRequest<TUser>(err: unknown, user: TUser | false): TUser {
    if (err instanceof Error && !(err instanceof HttpException)) throw err;
    if (err || !user) throw unauthorized();
    return user;
  }
}
