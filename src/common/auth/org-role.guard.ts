import { CanActivate, ExecutionContext, Injectable } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { MembershipsService } from '../../organizations/memberships.service';
import { notFound } from '../errors/app-error';
import { isDbId } from '../ids';
import type { AuthUser } from './current-user.decorator';
import { OrgRole } from './org-role.decorator';
import { assertRole, type Role } from './roles';

export interface MembershipContext {
  organizationId: number;
  role: Role;
}

/** Enforces @OrgRole(); attaches the caller's membership to the request for the handler. */
@Injectable()
export class OrgRoleGuard implements CanActivate {
  constructor(
    private readonly reflector: Reflector,
    private readonly memberships: MembershipsService,
  ) {}

  async canActivate(context: ExecutionContext): Promise<boolean> {
    const meta = this.reflector.get(OrgRole, context.getHandler());
    if (!meta) return true;
    const req = context.switchToHttp().getRequest<{
      user?: AuthUser;
      params: Record<string, string>;
      membership?: MembershipContext;
    }>();
    const raw = req.params[meta.param ?? 'id'];
    const organizationId = Number(raw);
    if (!req.user || !isDbId(organizationId)) {
      throw notFound('organization');
    }
    // Read afresh for this request (a statement shared only with requests that arrived before it
    // started: MembershipsService), never a cached grant.
    const role = await this.memberships.getRole(req.user.id, organizationId);
    if (!role) throw notFound('organization');
    assertRole(role, meta.role);
    req.membership = { organizationId, role };
    return true;
  }
}
