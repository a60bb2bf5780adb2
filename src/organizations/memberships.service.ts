import { Injectable } from '@nestjs/common';
import { assertRole, type Role } from '../common/auth/roles';
import { FreshReadCoalescer } from '../common/coalescing/fresh-read-coalescer';
import { notFound } from '../common/errors/app-error';
import { isDbId } from '../common/ids';
import { PrismaService } from '../prisma/prisma.service';

interface MemberKey {
  userId: number;
  organizationId: number;
}

const memberKey = (k: MemberKey): string => `${k.userId}:${k.organizationId}`;

/**
 * Membership look-ups for OrgRoleGuard and other modules (organization ids that arrive in a
 * body or a query, list scoping). Always read from the database: no cached grants. Concurrent
 * requests share one statement per kind of read, but only one that starts after they arrived
 * (FreshReadCoalescer), so a role changed or a membership removed through any replica binds on
 * the next request here exactly as with one query per request.
 */
@Injectable()
export class MembershipsService {
  // Raw: this runs on nearly every authenticated request, and for a few indexed rows the Prisma
  // client's query building and result shaping cost more than the round trip (API profile).
  private readonly roles = new FreshReadCoalescer<MemberKey, Role>(
    async (keys) => {
      const rows = await this.prisma.$queryRaw<(MemberKey & { role: Role })[]>`/* prepared */
        SELECT m.user_id AS "userId", m.organization_id AS "organizationId", m.role::text AS role
          FROM unnest(${keys.map((k) => k.userId)}::int[],
                      ${keys.map((k) => k.organizationId)}::int[]) AS k(user_id, organization_id)
          JOIN organization_members m
            ON m.organization_id = k.organization_id AND m.user_id = k.user_id`;
      return new Map(rows.map((r) => [memberKey(r), r.role]));
    },
    { keyOf: memberKey },
  );

  private readonly organizationIds = new FreshReadCoalescer<number, number[]>(async (userIds) => {
    const rows = await this.prisma.$queryRaw<{ userId: number; ids: number[] }[]>`/* prepared */
      SELECT user_id AS "userId", array_agg(organization_id ORDER BY organization_id) AS ids
        FROM organization_members WHERE user_id = ANY(${userIds}::int[])
       GROUP BY user_id`;
    return new Map(rows.map((r) => [String(r.userId), r.ids]));
  });

  constructor(private readonly prisma: PrismaService) {}

  /** The user's role in the organization, or null when not a member (or no such organization). */
  async getRole(userId: number, organizationId: number): Promise<Role | null> {
    if (!isDbId(userId) || !isDbId(organizationId)) return null;
    return (await this.roles.load({ userId, organizationId })) ?? null;
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

  /** Ids of every organization the user belongs to, ascending (a new array: callers may keep it). */
  async organizationIdsOf(userId: number): Promise<number[]> {
    if (!isDbId(userId)) return [];
    return [...((await this.organizationIds.load(userId)) ?? [])];
  }
}
