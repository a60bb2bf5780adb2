import type { OrganizationMember } from '../../generated/prisma/client';
import type { Role } from '../../common/auth/roles';

export class MembershipDto {
  organization_id!: number;
  user_id!: number;
  role!: Role;
  created_at!: Date;

  static from(m: OrganizationMember): MembershipDto {
    return {
      organization_id: m.organizationId,
      user_id: m.userId,
      role: m.role,
      created_at: m.createdAt,
    };
  }
}

export class MemberDto extends MembershipDto {
  username!: string;
  email!: string;

  static withUser(
    m: OrganizationMember & { user: { username: string; email: string } },
  ): MemberDto {
    return { ...MembershipDto.from(m), username: m.user.username, email: m.user.email };
  }
}
