import { createSecretKey, randomBytes, type KeyObject } from 'node:crypto';
import { Injectable, Logger, type OnApplicationBootstrap } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import type { AppConfig } from '../config/configuration';
import { PrismaService } from '../prisma/prisma.service';

/**
 * The HS256 key tokens are signed and verified with. SECRET_KEY when set (validated at start-up:
 * never a short, placeholder or published key); otherwise a random 256-bit key generated once and
 * kept in PostgreSQL (signing_keys), so every replica uses the same one and a restart does not
 * sign everybody out. Nothing in the repository can ever be the key.
 */
@Injectable()
export class SigningKeyService implements OnApplicationBootstrap {
  private readonly logger = new Logger(SigningKeyService.name);
  private readonly configured: string | undefined;
  private loading: Promise<KeyObject> | undefined;

  constructor(
    config: ConfigService<AppConfig, true>,
    private readonly prisma: PrismaService,
  ) {
    this.configured = config.get('secretKey', { infer: true });
  }

  /** Loads the key at start-up; when the database is not there yet, the first use retries. */
  async onApplicationBootstrap(): Promise<void> {
    try {
      await this.key();
    } catch (err) {
      this.logger.warn(`signing key not loaded yet: ${(err as Error).message}`);
    }
  }

  /**
   * A KeyObject, not a string: jsonwebtoken otherwise tries to parse a string secret as a PEM
   * public key on every verify and only falls back to a secret after that throws.
   */
  key(): Promise<KeyObject> {
    this.loading ??= this.load().catch((err: unknown) => {
      this.loading = undefined;
      throw err;
    });
    return this.loading;
  }

  private async load(): Promise<KeyObject> {
    if (this.configured !== undefined) {
      return createSecretKey(Buffer.from(this.configured, 'utf8'));
    }
    const candidate = randomBytes(32).toString('base64url');
    const inserted = await this.prisma.$executeRaw`
      INSERT INTO signing_keys (id, secret) VALUES (1, ${candidate}) ON CONFLICT (id) DO NOTHING`;
    const row = await this.prisma.signingKey.findUniqueOrThrow({ where: { id: 1 } });
    if (inserted === 1) {
      this.logger.warn(
        'SECRET_KEY is not set: generated a random 256-bit signing key and stored it in the ' +
          'database (table signing_keys); every replica uses it. Set SECRET_KEY to manage the key yourself.',
      );
    } else {
      this.logger.log('SECRET_KEY is not set: using the signing key stored in the database');
    }
    return createSecretKey(Buffer.from(row.secret, 'utf8'));
  }
}
