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
    const m = await this.prisma.organizationMember.findUnique({
      where: { organizationId_userId: { organizationId, userId } },
      select: { role: true },
    });
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
