import { Body, Controller, HttpCode, Ip, Post } from '@nestjs/common';
import {
  ApiConsumes,
  ApiOkResponse,
  ApiTags,
  ApiTooManyRequestsResponse,
  ApiUnauthorizedResponse,
} from '@nestjs/swagger';
import { Public } from '../common/auth/public.decorator';
import { AuthService } from './auth.service';
import { TokenDto, TokenRequestDto } from './dto/token.dto';

@ApiTags('auth')
@Controller()
export class AuthController {
  constructor(private readonly auth: AuthService) {}

  /**
   * OAuth2 password grant: form fields `username` (username or email) and `password`, or JSON.
   * Repeated failures per client IP and username are rate limited (429 with Retry-After).
   */
  @Public()
  @Post('token')
  @HttpCode(200)
  @ApiConsumes('application/x-www-form-urlencoded', 'application/json')
  @ApiOkResponse({ type: TokenDto })
  @ApiUnauthorizedResponse({
    description: '`auth/invalid_credentials`: unknown user or wrong password',
  })
  @ApiTooManyRequestsResponse({ description: '`rate_limit/too_many_failed_logins`' })
  token(@Body() dto: TokenRequestDto, @Ip() ip: string): Promise<TokenDto> {
    return this.auth.issueToken(dto.username, dto.password, ip);
  }
}
