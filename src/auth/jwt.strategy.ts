import { Injectable } from '@nestjs/common';
import { PassportStrategy } from '@nestjs/passport';
import { ExtractJwt, Strategy } from 'passport-jwt';
import type { AuthUser } from '../common/auth/current-user.decorator';
import { PrismaService } from '../prisma/prisma.service';
import type { JwtClaims } from './auth.service';
import { SigningKeyService } from './signing-key.service';

/**
 * HS256 only (an `alg: none` or RS/HS-confused token is rejected), with an `exp` (a token that
 * never expires is rejected); the user must still be active.
 */
@Injectable()
export class JwtStrategy extends PassportStrategy(Strategy, 'jwt') {
  constructor(
    keys: SigningKeyService,
    private readonly prisma: PrismaService,
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

  async validate(claims: JwtClaims): Promise<AuthUser | false> {
    if (!Number.isSafeInteger(claims.sub)) return false;
    const user = await this.prisma.user.findUnique({
      where: { id: claims.sub },
      select: { id: true, username: true, isActive: true },
    });
    return user?.isActive ? { id: user.id, username: user.username } : false;
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
