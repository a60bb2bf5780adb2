import { CanActivate, ExecutionContext, Injectable } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { PrismaService } from '../../prisma/prisma.service';
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
    private readonly prisma: PrismaService,
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
    // Raw: one indexed row, without the Prisma client's per-query cost (see MembershipsService).
    const [member] = await this.prisma.$queryRaw<{ role: Role }[]>`
      SELECT role::text AS role FROM organization_members
      WHERE organization_id = ${organizationId} AND user_id = ${req.user.id}`;
    if (!member) throw notFound('organization');
    assertRole(member.role, meta.role);
    req.membership = { organizationId, role: member.role };
    return true;
  }
}
