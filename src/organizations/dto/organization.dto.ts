import type { Role } from '../../common/auth/roles';

export interface OrganizationRow {
  id: number;
  name: string;
  inviteCode: string;
  createdAt: Date;
}

export class OrganizationDto {
  id!: number;
  name!: string;
  /** Only present when the caller is an admin of the organization. */
  invite_code?: string;
  /** The caller's role in the organization. */
  role!: Role;
  member_count!: number;
  created_at!: Date;

  /** The invite code leaves the service only towards admins. */
  static from(org: OrganizationRow, role: Role, memberCount: number): OrganizationDto {
    return {
      id: org.id,
      name: org.name,
      ...(role === 'admin' ? { invite_code: org.inviteCode } : {}),
      role,
      member_count: memberCount,
      created_at: org.createdAt,
    };
  }
}

export class InviteCodeDto {
  /** The new invite code; the previous one stops working at once. */
  invite_code!: string;
}
