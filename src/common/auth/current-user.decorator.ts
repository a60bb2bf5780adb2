import { createParamDecorator, ExecutionContext } from '@nestjs/common';

/** The caller's row as the JWT strategy read it for this request (never a password hash). */
export interface UserProfile {
  id: number;
  email: string;
  username: string;
  isActive: boolean;
  createdAt: Date;
  updatedAt: Date;
}

export interface AuthUser {
  id: number;
  username: string;
  /** Read in the same query that authenticated this request, so GET /users/me needs no other. */
  profile?: UserProfile;
}

/** The authenticated caller, set by the JWT strategy. */
export const CurrentUser = createParamDecorator((_: unknown, ctx: ExecutionContext): AuthUser => {
  const req = ctx.switchToHttp().getRequest<{ user: AuthUser }>();
  return req.user;
});
