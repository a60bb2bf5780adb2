import { Controller, Get, Inject } from '@nestjs/common';
import { ApiOkResponse, ApiServiceUnavailableResponse, ApiTags } from '@nestjs/swagger';
import { SkipThrottle } from '@nestjs/throttler';
import type Redis from 'ioredis';
import { Public } from '../common/auth/public.decorator';
import { AppError } from '../common/errors/app-error';
import { REDIS } from '../common/redis/redis.module';
import { PrismaService } from '../prisma/prisma.service';

type Check = 'up' | 'down';

async function within<T>(ms: number, p: Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error('timeout')), ms);
  });
  try {
    return await Promise.race([p, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

@ApiTags('health')
@Public()
@SkipThrottle()
@Controller('health')
export class HealthController {
  constructor(
    private readonly prisma: PrismaService,
    @Inject(REDIS) private readonly redis: Redis,
  ) {}

  /** Liveness: the process answers. */
  @Get()
  @ApiOkResponse({ schema: { example: { status: 'ok' } } })
  live(): { status: 'ok' } {
    return { status: 'ok' };
  }

  /** Readiness: PostgreSQL and Redis both answer; 503 otherwise. */
  @Get('ready')
  @ApiOkResponse({ schema: { example: { status: 'ok', checks: { database: 'up', redis: 'up' } } } })
  @ApiServiceUnavailableResponse({ description: 'PostgreSQL or Redis unreachable' })
  async ready(): Promise<{ status: 'ok'; checks: Record<string, Check> }> {
    const [database, redis] = await Promise.all([
      within(2_000, this.prisma.$queryRaw`SELECT 1`).then(
        (): Check => 'up',
        (): Check => 'down',
      ),
      within(1_000, this.redis.ping()).then(
        (): Check => 'up',
        (): Check => 'down',
      ),
    ]);
    const checks = { database, redis };
    if (database === 'down' || redis === 'down') {
      throw new AppError(503, 'service/unavailable', 'A backing service is unreachable', {
        checks,
      });
    }
    return { status: 'ok', checks };
  }
}
