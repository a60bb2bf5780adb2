import { Injectable } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { JwtService } from '@nestjs/jwt';
import * as argon2 from 'argon2';
import type { AppConfig } from '../config/configuration';
import { unauthorized } from '../common/errors/app-error';
import { ARGON2_OPTIONS, UsersService } from '../users/users.service';
import type { TokenDto } from './dto/token.dto';
import { LoginAttemptsService } from './login-attempts.service';
import { SigningKeyService } from './signing-key.service';

export interface JwtClaims {
  sub: number;
  username: string;
}

@Injectable()
export class AuthService {
  /** Verified against when the user does not exist, so both failures take the same time. */
  private readonly dummyHash = argon2.hash('berth-timing-equaliser', ARGON2_OPTIONS);

  constructor(
    private readonly users: UsersService,
    private readonly jwt: JwtService,
    private readonly attempts: LoginAttemptsService,
    private readonly config: ConfigService<AppConfig, true>,
    private readonly keys: SigningKeyService,
  ) {}

  async issueToken(login: string, password: string, ip: string): Promise<TokenDto> {
    const user = await this.users.findByLogin(login);
    // Counted before the verdict, keyed on the account: concurrent guesses and switching between
    // username and email all draw from one budget.
    const release = await this.attempts.reserve(ip, LoginAttemptsService.account(user?.id, login));
    const ok = user
      ? await argon2.verify(user.hashedPassword, password)
      : await argon2.verify(await this.dummyHash, password).then(() => false);
    if (!user || !ok || !user.isActive) {
      // Unknown user, wrong password and inactive account are indistinguishable.
      throw unauthorized('auth/invalid_credentials', 'Incorrect username or password');
    }
    await release();
    const expiresIn = this.config.get('accessTokenMinutes', { infer: true }) * 60;
    const claims: JwtClaims = { sub: user.id, username: user.username };
    return {
      access_token: await this.jwt.signAsync(claims, {
        expiresIn,
        secret: (await this.keys.key()) as unknown as Buffer,
      }),
      token_type: 'bearer',
      expires_in: expiresIn,
    };
  }
}
