import { Body, Controller, Get, HttpCode, Post } from '@nestjs/common';
import {
  ApiConflictResponse,
  ApiCreatedResponse,
  ApiOkResponse,
  ApiTags,
  ApiUnauthorizedResponse,
  ApiUnprocessableEntityResponse,
} from '@nestjs/swagger';
import { CurrentUser, type AuthUser } from '../common/auth/current-user.decorator';
import { Public } from '../common/auth/public.decorator';
import { AuthThrottle } from '../common/throttling/auth-throttle.decorator';
import { CreateUserDto } from './dto/create-user.dto';
import { UserDto } from './dto/user.dto';
import { UsersService } from './users.service';

@ApiTags('users')
@Controller('users')
export class UsersController {
  constructor(private readonly users: UsersService) {}

  /** Sign up. Rate limited per client IP (AUTH_THROTTLE_LIMIT). */
  @Public()
  @AuthThrottle()
  @Post()
  @HttpCode(201)
  @ApiCreatedResponse({ type: UserDto })
  @ApiConflictResponse({ description: '`user/already_exists`: email or username taken' })
  @ApiUnprocessableEntityResponse({ description: '`request/validation_failed` with field errors' })
  async create(@Body() dto: CreateUserDto): Promise<UserDto> {
    return UserDto.from(await this.users.create(dto));
  }

  /** The caller. */
  @Get('me')
  @ApiOkResponse({ type: UserDto })
  @ApiUnauthorizedResponse({
    description: '`auth/unauthenticated`: missing, invalid or expired token',
  })
  async me(@CurrentUser() user: AuthUser): Promise<UserDto> {
    // The row the JWT strategy read to authenticate this very request: no second query.
    return UserDto.from(user.profile ?? (await this.users.get(user.id)));
  }
}
