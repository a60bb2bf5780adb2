import { createParamDecorator, ExecutionContext } from '@nestjs/common';
import type { MembershipContext } from './org-role.guard';

/** The membership OrgRoleGuard verified for this request. */
export const Membership = createParamDecorator((_: unknown, ctx: ExecutionContext) => {
  const req = ctx.switchToHttp().getRequest<{ membership: MembershipContext }>();
  return req.membership;
});
