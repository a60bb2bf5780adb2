import { createHash, timingSafeEqual } from 'node:crypto';
import { Controller, Get, Headers, Res } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import {
  ApiOkResponse,
  ApiProduces,
  ApiSecurity,
  ApiTags,
  ApiUnauthorizedResponse,
} from '@nestjs/swagger';
import { SkipThrottle } from '@nestjs/throttler';
import type { FastifyReply } from 'fastify';
import { Public } from '../common/auth/public.decorator';
import { unauthorized } from '../common/errors/app-error';
import type { AppConfig } from '../config/configuration';
import { MetricsService } from './metrics.service';

const digest = (s: string): Buffer => createHash('sha256').update(s).digest();

@ApiTags('metrics')
@Public()
@SkipThrottle()
@Controller('metrics')
export class MetricsController {
  private readonly token: Buffer | undefined;

  constructor(
    private readonly metrics: MetricsService,
    config: ConfigService<AppConfig, true>,
  ) {
    const token = config.get('metricsToken', { infer: true });
    this.token = token === undefined ? undefined : digest(token);
  }

  /**
   * Prometheus metrics (text exposition format 0.0.4). When `METRICS_TOKEN` is set, the scraper
   * sends `Authorization: Bearer <METRICS_TOKEN>` (not a user's access token).
   */
  @Get()
  @ApiSecurity({})
  @ApiProduces('text/plain')
  @ApiOkResponse({ description: 'The metrics, `text/plain; version=0.0.4`' })
  @ApiUnauthorizedResponse({
    description: '`auth/unauthenticated`: METRICS_TOKEN is set and the bearer token differs',
  })
  async scrape(
    @Headers('authorization') authorization: string | undefined,
    @Res({ passthrough: true }) reply: FastifyReply,
  ): Promise<string> {
    if (this.token && !this.authorized(authorization)) {
      throw unauthorized('auth/unauthenticated', 'A valid metrics bearer token is required');
    }
    const body = await this.metrics.registry.metrics();
    void reply.header('content-type', this.metrics.registry.contentType);
    return body;
  }

  /** Compares digests in constant time, so the token cannot be guessed byte by byte. */
  private authorized(header: string | undefined): boolean {
    const m = /^Bearer (.+)$/i.exec(header ?? '');
    return m?.[1] !== undefined && timingSafeEqual(digest(m[1]), this.token!);
  }
}
