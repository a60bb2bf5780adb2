import { createHash, timingSafeEqual } from 'node:crypto';
import { Controller, Get, Headers, Res } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import {
  ApiNotFoundResponse,
  ApiOkResponse,
  ApiProduces,
  ApiSecurity,
  ApiTags,
  ApiTooManyRequestsResponse,
  ApiUnauthorizedResponse,
} from '@nestjs/swagger';
import type { FastifyReply } from 'fastify';
import { Public } from '../common/auth/public.decorator';
import { AppError, unauthorized } from '../common/errors/app-error';
import type { AppConfig } from '../config/configuration';
import { MetricsService } from './metrics.service';

const digest = (s: string): Buffer => createHash('sha256').update(s).digest();

@ApiTags('metrics')
// Public to the JWT guard (the scraper holds METRICS_TOKEN, not a user token) but throttled like
// any anonymous client, so the token cannot be guessed at speed.
@Public()
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
   * Prometheus metrics (text exposition format 0.0.4) for a scraper that sends
   * `Authorization: Bearer <METRICS_TOKEN>` (not a user's access token). They describe every
   * organisation, so they are off (404 `metrics/disabled`) until `METRICS_TOKEN` is set.
   */
  @Get()
  @ApiSecurity({})
  @ApiProduces('text/plain')
  @ApiOkResponse({ description: 'The metrics, `text/plain; version=0.0.4`' })
  @ApiUnauthorizedResponse({
    description: '`auth/unauthenticated`: the bearer token is not METRICS_TOKEN',
  })
  @ApiNotFoundResponse({ description: '`metrics/disabled`: METRICS_TOKEN is not set' })
  @ApiTooManyRequestsResponse({ description: '`rate_limit/exceeded`' })
  async scrape(
    @Headers('authorization') authorization: string | undefined,
    @Res({ passthrough: true }) reply: FastifyReply,
  ): Promise<string> {
    if (!this.token) {
      throw new AppError(
        404,
        'metrics/disabled',
        'Metrics are off; set METRICS_TOKEN to scrape them',
      );
    }
    if (!this.authorized(authorization)) {
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
