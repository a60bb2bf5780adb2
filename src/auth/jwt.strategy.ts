import { Injectable } from '@nestjs/common';
import { PassportStrategy } from '@nestjs/passport';
import { ExtractJwt, Strategy } from 'passport-jwt';
import type { AuthUser, UserProfile } from '../common/auth/current-user.decorator';
import { isDbId } from '../common/ids';
import type { JwtClaims } from './auth.service';
import { IdentityService } from './identity.service';
import { SigningKeyService } from './signing-key.service';

/**
 * HS256 only (an `alg: none` or RS/HS-confused token is rejected), with an `exp` (a token that
 * never expires is rejected); the user must still be active.
 */
@Injectable()
export class JwtStrategy extends PassportStrategy(Strategy, 'jwt') {
  constructor(
    keys: SigningKeyService,
    private readonly identity: IdentityService,
  ) {
    super({
      jwtFromRequest: ExtractJwt.fromAuthHeaderAsBearerToken(),
      secretOrKeyProvider: (_req: unknown, rawJwt: string, done: KeyCallback) => {
        if (!hasExpiry(rawJwt)) return done(new Error('token without exp'));
        keys.key().then(
          (key) => done(null, key as unknown as Buffer),
          (err: Error) => done(err),
        );
      },
      algorithms: ['HS256'],
      issuer: 'berth',
      ignoreExpiration: false,
    });
  }

  /**
   * Reads the caller's whole public row (GET /users/me answers from it without a second query)
   * with one raw statement: the Prisma client's per-query cost (building and interpreting the
   * query plan, shaping the result) was the largest self time of every authenticated route in
   * the API benchmark's profile. Concurrent requests share that statement (IdentityService), but
   * only one that starts after they arrived. Never cached: a deactivated user is refused on the
   * next request.
   */
  async validate(claims: JwtClaims): Promise<AuthUser | false> {
    if (!isDbId(claims.sub)) return false;
    const user: UserProfile | undefined = await this.identity.profile(claims.sub);
    return user?.isActive ? { id: user.id, username: user.username, profile: user } : false;
  }
}

type KeyCallback = (err: Error | null, key?: Buffer) => void;

/** jsonwebtoken checks `exp` only when present; Berth requires it (signature is checked after). */
function hasExpiry(rawJwt: string): boolean {
  try {
    const payload = JSON.parse(
      Buffer.from(rawJwt.split('.')[1] ?? '', 'base64url').toString('utf8'),
    ) as { exp?: unknown } | null;
    return typeof payload?.exp === 'number' && Number.isFinite(payload.exp);
  } catch {
    return false;
  }
}
