import { Injectable } from '@nestjs/common';
import { Prisma } from '../generated/prisma/client';
import type { Role } from '../common/auth/roles';
import { conflict, notFound } from '../common/errors/app-error';
import { runTx } from '../deployments/run-tx';
import { PrismaService } from '../prisma/prisma.service';
import { MembershipDto } from './dto/membership.dto';
import { InviteCodeDto, OrganizationDto } from './dto/organization.dto';
import { MAX_INVITE_CODE_LENGTH, newInviteCode } from './invite-code';

const isUniqueViolation = (err: unknown): boolean =>
  err instanceof Prisma.PrismaClientKnownRequestError && err.code === 'P2002';

const isRecordMissing = (err: unknown): boolean =>
  err instanceof Prisma.PrismaClientKnownRequestError && err.code === 'P2025';

/** Organizations themselves: creation, joining by invite, reading, rotating the invite code. */
@Injectable()
export class OrganizationsService {
  constructor(private readonly prisma: PrismaService) {}

  /** Creates the organization and makes the caller its admin, atomically. */
  async create(userId: number, name: string): Promise<OrganizationDto> {
    try {
      // In a transaction so an Idempotency-Key commits with the organization (runTx).
      const org = await runTx(this.prisma, (tx) =>
        tx.organization.create({
          data: {
            name,
            inviteCode: newInviteCode(),
            members: { create: { userId, role: 'admin' } },
          },
        }),
      );
      return OrganizationDto.from(org, 'admin', 1);
    } catch (err) {
      // The name is the only unique field a caller controls; a 144-bit invite code never collides.
      if (isUniqueViolation(err)) {
        throw conflict('organization/name_taken', 'An organization with this name already exists');
      }
      throw err;
    }
  }

  /**
   * Joins as a developer. The organization is resolved by its invite code inside the insert
   * itself, so a code rotated a moment earlier cannot be used any more.
   */
  async join(userId: number, inviteCode: string): Promise<MembershipDto> {
    if (inviteCode.length > MAX_INVITE_CODE_LENGTH) throw inviteNotFound();
    try {
      const membership = await this.prisma.organizationMember.create({
        data: {
          role: 'developer',
          user: { connect: { id: userId } },
          organization: { connect: { inviteCode } },
        },
      });
      return MembershipDto.from(membership);
    } catch (err) {
      if (isRecordMissing(err)) throw inviteNotFound();
      if (isUniqueViolation(err)) {
        throw conflict(
          'organization/already_member',
          'You are already a member of this organization',
        );
      }
      throw err;
    }
  }

  /** The caller's organizations, each with the caller's role. */
  async listMine(userId: number): Promise<OrganizationDto[]> {
    const memberships = await this.prisma.organizationMember.findMany({
      where: { userId },
      orderBy: { organizationId: 'asc' },
      select: {
        role: true,
        organization: { include: { _count: { select: { members: true } } } },
      },
    });
    return memberships.map(({ role, organization }) =>
      OrganizationDto.from(organization, role, organization._count.members),
    );
  }

  /** One organization, seen with the caller's role (checked by OrgRoleGuard). */
  async get(organizationId: number, role: Role): Promise<OrganizationDto> {
    const org = await this.prisma.organization.findUnique({
      where: { id: organizationId },
      include: { _count: { select: { members: true } } },
    });
    if (!org) throw notFound('organization');
    return OrganizationDto.from(org, role, org._count.members);
  }

  /** Replaces the invite code; the old one stops working at once. */
  async rotateInviteCode(organizationId: number): Promise<InviteCodeDto> {
    try {
      const org = await this.prisma.organization.update({
        where: { id: organizationId },
        data: { inviteCode: newInviteCode() },
        select: { inviteCode: true },
      });
      return { invite_code: org.inviteCode };
    } catch (err) {
      if (isRecordMissing(err)) throw notFound('organization');
      throw err;
    }
  }
}

function inviteNotFound() {
  return notFound('invite code', 'organization/invite_not_found');
}
