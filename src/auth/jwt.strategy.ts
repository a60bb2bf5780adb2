import { createSecretKey } from 'node:crypto';
import { Injectable } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { PassportStrategy } from '@nestjs/passport';
import { ExtractJwt, Strategy } from 'passport-jwt';
import type { AppConfig } from '../config/configuration';
import type { AuthUser, UserProfile } from '../common/auth/current-user.decorator';
import { isDbId } from '../common/ids';
import { PrismaService } from '../prisma/prisma.service';
import type { JwtClaims } from './auth.service';

/** HS256 only (an `alg: none` or RS/HS-confused token is rejected); the user must still be active. */
@Injectable()
export class JwtStrategy extends PassportStrategy(Strategy, 'jwt') {
  constructor(
    config: ConfigService<AppConfig, true>,
    private readonly prisma: PrismaService,
  ) {
    super({
      jwtFromRequest: ExtractJwt.fromAuthHeaderAsBearerToken(),
      // A KeyObject, not the string: jsonwebtoken otherwise tries to parse a string secret as a PEM
      // public key on every verify and only falls back to a secret after that throws (≈ 0.7 ms a
      // request, the largest self time of GET /users/me in the API benchmark's profile).
      secretOrKey: createSecretKey(
        Buffer.from(config.get('secretKey', { infer: true }), 'utf8'),
      ) as unknown as Buffer,
      algorithms: ['HS256'],
      issuer: 'berth',
      ignoreExpiration: false,
    });
  }

  /**
   * Reads the caller's whole public row (GET /users/me answers from it without a second query)
   * with one raw statement: the Prisma client's per-query cost (building and interpreting the
   * query plan, shaping the result) was the largest self time of every authenticated route in
   * the API benchmark's profile. Never cached: a deactivated user is refused on the next request.
   */
  async validate(claims: JwtClaims): Promise<AuthUser | false> {
    if (!isDbId(claims.sub)) return false;
    const [user] = await this.prisma.$queryRaw<UserProfile[]>`
      SELECT id, email, username, is_active AS "isActive", created_at AS "createdAt",
             updated_at AS "updatedAt"
      FROM users WHERE id = ${claims.sub}`;
    return user?.isActive ? { id: user.id, username: user.username, profile: user } : false;
  }
}
