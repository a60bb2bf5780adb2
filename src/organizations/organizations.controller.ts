import {
  Body,
  Controller,
  Delete,
  Get,
  HttpCode,
  Param,
  ParseIntPipe,
  Patch,
  Post,
} from '@nestjs/common';
import {
  ApiConflictResponse,
  ApiCreatedResponse,
  ApiForbiddenResponse,
  ApiNoContentResponse,
  ApiNotFoundResponse,
  ApiOkResponse,
  ApiParam,
  ApiTags,
  ApiUnauthorizedResponse,
  ApiUnprocessableEntityResponse,
} from '@nestjs/swagger';
import { CurrentUser, type AuthUser } from '../common/auth/current-user.decorator';
import { Membership } from '../common/auth/membership.decorator';
import { OrgRole } from '../common/auth/org-role.decorator';
import type { MembershipContext } from '../common/auth/org-role.guard';
import { notFound } from '../common/errors/app-error';
import { Idempotent } from '../common/idempotency/idempotency.interceptor';
import { CreateOrganizationDto } from './dto/create-organization.dto';
import { MemberDto, MembershipDto } from './dto/membership.dto';
import { InviteCodeDto, OrganizationDto } from './dto/organization.dto';
import { UpdateMemberRoleDto } from './dto/update-member-role.dto';
import { MembersService } from './members.service';
import { OrganizationsService } from './organizations.service';

const NOT_MEMBER = '`organization/not_found`: no such organization, or you are not a member';
const NOT_ADMIN = '`organization/insufficient_role`: you are a member but not an admin';
const NO_SUCH_MEMBER = '`organization/member_not_found`: that user is not a member';
const LAST_ADMIN = '`organization/last_admin`: the organization would be left without an admin';

/** The `{id}` of the organisation routes (read by OrgRoleGuard, so no handler parameter names it). */
const OrgIdParam = ApiParam({ name: 'id', type: 'integer', description: 'Organization id' });

/** A non-numeric user id cannot name a member: 404, like any other unknown member. */
const userIdPipe = new ParseIntPipe({
  exceptionFactory: () => notFound('member', 'organization/member_not_found'),
});

@ApiTags('organizations')
@Controller('organizations')
export class OrganizationsController {
  constructor(
    private readonly organizations: OrganizationsService,
    private readonly members: MembersService,
  ) {}

  /** Create an organization; the caller becomes its admin. */
  @Post()
  @HttpCode(201)
  @Idempotent()
  @ApiCreatedResponse({ type: OrganizationDto })
  @ApiConflictResponse({ description: '`organization/name_taken`' })
  @ApiUnprocessableEntityResponse({ description: '`request/validation_failed` with field errors' })
  create(
    @CurrentUser() user: AuthUser,
    @Body() dto: CreateOrganizationDto,
  ): Promise<OrganizationDto> {
    return this.organizations.create(user.id, dto.name);
  }

  /** Join an organization by its invite code, as a developer. */
  @Post(':invite_code/join')
  @HttpCode(201)
  @ApiCreatedResponse({ type: MembershipDto })
  @ApiNotFoundResponse({ description: '`organization/invite_not_found`: unknown or rotated code' })
  @ApiConflictResponse({ description: '`organization/already_member`' })
  join(
    @CurrentUser() user: AuthUser,
    @Param('invite_code') inviteCode: string,
  ): Promise<MembershipDto> {
    return this.organizations.join(user.id, inviteCode);
  }

  /** The caller's organizations, each with the caller's role. */
  @Get()
  @ApiOkResponse({ type: [OrganizationDto] })
  @ApiUnauthorizedResponse({
    description: '`auth/unauthenticated`: missing, invalid or expired token',
  })
  listMine(@CurrentUser() user: AuthUser): Promise<OrganizationDto[]> {
    return this.organizations.listMine(user.id);
  }

  /** One organization (any member). `invite_code` is included for admins only. */
  @Get(':id')
  @OrgIdParam
  @OrgRole({ role: 'viewer' })
  @ApiOkResponse({ type: OrganizationDto })
  @ApiNotFoundResponse({ description: NOT_MEMBER })
  get(@Membership() membership: MembershipContext): Promise<OrganizationDto> {
    return this.organizations.get(membership.organizationId, membership.role);
  }

  /** The organization's members (any member). */
  @Get(':id/members')
  @OrgIdParam
  @OrgRole({ role: 'viewer' })
  @ApiOkResponse({ type: [MemberDto] })
  @ApiNotFoundResponse({ description: NOT_MEMBER })
  listMembers(@Membership() membership: MembershipContext): Promise<MemberDto[]> {
    return this.members.list(membership.organizationId);
  }

  /** Change a member's role (admins). The last admin cannot be demoted. */
  @Patch(':id/members/:user_id')
  @OrgIdParam
  @OrgRole({ role: 'admin' })
  @ApiOkResponse({ type: MembershipDto })
  @ApiForbiddenResponse({ description: NOT_ADMIN })
  @ApiNotFoundResponse({ description: `${NOT_MEMBER}; ${NO_SUCH_MEMBER}` })
  @ApiConflictResponse({ description: LAST_ADMIN })
  @ApiUnprocessableEntityResponse({ description: '`request/validation_failed`: unknown role' })
  changeRole(
    @CurrentUser() user: AuthUser,
    @Membership() membership: MembershipContext,
    @Param('user_id', userIdPipe) userId: number,
    @Body() dto: UpdateMemberRoleDto,
  ): Promise<MembershipDto> {
    return this.members.changeRole(membership.organizationId, user.id, userId, dto.role);
  }

  /**
   * Remove a member: admins remove anyone, any member may remove themselves (leave). The last
   * admin cannot be removed. Answers 204 with no body.
   */
  @Delete(':id/members/:user_id')
  @OrgIdParam
  @OrgRole({ role: 'viewer' })
  @HttpCode(204)
  @ApiNoContentResponse({ description: 'Removed' })
  @ApiForbiddenResponse({ description: `${NOT_ADMIN} (removing someone else)` })
  @ApiNotFoundResponse({ description: `${NOT_MEMBER}; ${NO_SUCH_MEMBER}` })
  @ApiConflictResponse({ description: LAST_ADMIN })
  async removeMember(
    @CurrentUser() user: AuthUser,
    @Membership() membership: MembershipContext,
    @Param('user_id', userIdPipe) userId: number,
  ): Promise<void> {
    await this.members.remove(membership.organizationId, user.id, userId);
  }

  /** Replace the invite code (admins); the old code stops working at once. Answers 200. */
  @Post(':id/invite_code')
  @OrgIdParam
  @OrgRole({ role: 'admin' })
  @HttpCode(200)
  @ApiOkResponse({ type: InviteCodeDto })
  @ApiForbiddenResponse({ description: NOT_ADMIN })
  @ApiNotFoundResponse({ description: NOT_MEMBER })
  rotateInviteCode(@Membership() membership: MembershipContext): Promise<InviteCodeDto> {
    return this.organizations.rotateInviteCode(membership.organizationId);
  }
}
