import { Injectable } from '@nestjs/common';
import { assertRole, type Role } from '../common/auth/roles';
import { notFound } from '../common/errors/app-error';
import { isDbId } from '../common/ids';
import { PrismaService } from '../prisma/prisma.service';

/**
 * Membership look-ups for other modules (organization ids that arrive in a body or a query,
 * list scoping). Always read from the database: no cached grants.
 */
@Injectable()
export class MembershipsService {
  constructor(private readonly prisma: PrismaService) {}

  /** The user's role in the organization, or null when not a member (or no such organization). */
  async getRole(userId: number, organizationId: number): Promise<Role | null> {
    if (!isDbId(userId) || !isDbId(organizationId)) return null;
    // Raw: this runs on nearly every authenticated request, and for one indexed row the Prisma
    // client's query building and result shaping cost more than the round trip (API profile).
    const [m] = await this.prisma.$queryRaw<{ role: Role }[]>`
      SELECT role::text AS role FROM organization_members
      WHERE organization_id = ${organizationId} AND user_id = ${userId}`;
    return m?.role ?? null;
  }

  /**
   * The user's role when it is at least `min`. Not a member → 404 with `notFoundCode` (so the
   * organization's existence does not leak); a member below `min` → 403
   * `organization/insufficient_role`.
   */
  async requireRole(
    userId: number,
    organizationId: number,
    min: Role,
    notFoundCode = 'organization/not_found',
  ): Promise<Role> {
    const role = await this.getRole(userId, organizationId);
    if (!role) throw notFound(notFoundCode.split('/')[0] ?? 'organization', notFoundCode);
    assertRole(role, min);
    return role;
  }

  /** Ids of every organization the user belongs to, ascending. */
  async organizationIdsOf(userId: number): Promise<number[]> {
    const rows = await this.prisma.organizationMember.findMany({
      where: { userId },
      select: { organizationId: true },
      orderBy: { organizationId: 'asc' },
    });
    return rows.map((r) => r.organizationId);
  }
}
