import { Injectable } from '@nestjs/common';
import type { Role } from '../common/auth/roles';
import { conflict, forbidden, notFound } from '../common/errors/app-error';
import { PrismaService, type Tx } from '../prisma/prisma.service';
import { MemberDto, MembershipDto } from './dto/membership.dto';
import { isDbId } from '../common/ids';

const memberNotFound = () => notFound('member', 'organization/member_not_found');

const lastAdmin = () =>
  conflict(
    'organization/last_admin',
    'An organization needs at least one admin: promote another member first',
  );

/** The member list, role changes and removals, keeping at least one admin per organization. */
@Injectable()
export class MembersService {
  constructor(private readonly prisma: PrismaService) {}

  async list(organizationId: number): Promise<MemberDto[]> {
    const members = await this.prisma.organizationMember.findMany({
      where: { organizationId },
      orderBy: { id: 'asc' },
      include: { user: { select: { username: true, email: true } } },
    });
    return members.map((m) => MemberDto.withUser(m));
  }

  /** Admins only. Demoting the last admin → 409 `organization/last_admin`. */
  async changeRole(
    organizationId: number,
    callerId: number,
    userId: number,
    role: Role,
  ): Promise<MembershipDto> {
    if (!isDbId(userId)) throw memberNotFound();
    return this.prisma.$transaction(async (tx) => {
      const admins = await lockAdmins(tx, organizationId);
      // The guard saw the caller as admin; re-check under the lock (a concurrent demotion).
      if (!admins.includes(callerId)) throw forbidden('Changing roles needs the admin role');
      const target = await findMember(tx, organizationId, userId);
      if (target.role === 'admin' && role !== 'admin' && admins.length <= 1) throw lastAdmin();
      if (target.role === role) return MembershipDto.from(target);
      const updated = await tx.organizationMember.update({
        where: { id: target.id },
        data: { role },
      });
      return MembershipDto.from(updated);
    });
  }

  /**
   * Admins remove anyone; every member may remove themselves. Removing the last admin →
   * 409 `organization/last_admin`.
   */
  async remove(organizationId: number, callerId: number, userId: number): Promise<void> {
    if (!isDbId(userId)) throw memberNotFound();
    await this.prisma.$transaction(async (tx) => {
      const admins = await lockAdmins(tx, organizationId);
      if (userId !== callerId && !admins.includes(callerId)) {
        throw forbidden('Removing another member needs the admin role');
      }
      const target = await findMember(tx, organizationId, userId);
      if (target.role === 'admin' && admins.length <= 1) throw lastAdmin();
      await tx.organizationMember.delete({ where: { id: target.id } });
    });
  }
}

/**
 * Locks the organization's admin rows (in id order, so concurrent callers cannot deadlock) and
 * returns their user ids. Every change that could remove an admin takes these locks before
 * counting, so two admins demoting each other at once cannot leave the organization without one:
 * the second waits, then re-reads the rows and sees only one admin left.
 */
async function lockAdmins(tx: Tx, organizationId: number): Promise<number[]> {
  const rows = await tx.$queryRaw<{ user_id: number }[]>`
    SELECT user_id FROM organization_members
    WHERE organization_id = ${organizationId} AND role = 'admin'
    ORDER BY id
    FOR UPDATE`;
  return rows.map((r) => r.user_id);
}

async function findMember(tx: Tx, organizationId: number, userId: number) {
  const member = await tx.organizationMember.findUnique({
    where: { organizationId_userId: { organizationId, userId } },
  });
  if (!member) throw memberNotFound();
  return member;
}
