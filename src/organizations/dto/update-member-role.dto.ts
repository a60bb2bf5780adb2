import { IsEnum } from 'class-validator';
import { MemberRole, type Role } from '../../common/auth/roles';

export class UpdateMemberRoleDto {
  /** The member's new role. */
  @IsEnum(MemberRole, { message: 'role must be one of admin, developer, viewer' })
  role!: Role;
}
