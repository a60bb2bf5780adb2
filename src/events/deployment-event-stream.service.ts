import { Injectable, Logger, Optional, type BeforeApplicationShutdown } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import type { FastifyReply } from 'fastify';
import { AppError, notFound, unprocessable } from '../common/errors/app-error';
import { MAX_DB_ID } from '../common/ids';
import type { AppConfig } from '../config/configuration';
import { Prisma } from '../generated/prisma/client';
import { MetricsService } from '../metrics/metrics.service';
import { MembershipsService } from '../organizations/memberships.service';
import { PrismaService } from '../prisma/prisma.service';
import type { DeploymentStreamEventDto, EventsStreamQueryDto } from './dto/events-stream-query.dto';
import { EventNotifier } from './event-notifier.service';
import { EventStream, OrgFeed, type FeedHub, type Scope } from './org-feed';

const BATCH = 500;
/** How long a client refused for the stream caps should wait before trying again. */
const RETRY_AFTER_SECONDS = 30;

/**
 * Live deployment events over Server-Sent Events. The deployment_events table is the source of
 * truth and each SSE id is the row id, so a client resumes exactly with Last-Event-ID.
 *
 * Cost is per organisation, not per stream: one OrgFeed per organisation with open streams on
 * this instance reads the table (when woken by EventNotifier, and every POLL_MS in case Redis is
 * down), re-checks in the same round which of its streams' users are still members, and fans the
 * rows out. Open streams are capped per user and per instance (429 with Retry-After).
 */
@Injectable()
export class DeploymentEventStreams implements BeforeApplicationShutdown, FeedHub {
  private readonly logger = new Logger(DeploymentEventStreams.name);
  private readonly live = new Set<EventStream>();
  private readonly perUser = new Map<number, number>();
  private readonly feeds = new Map<number, OrgFeed>();
  private readonly maxPerUser: number;
  private readonly maxPerInstance: number;

  constructor(
    private readonly prisma: PrismaService,
    private readonly memberships: MembershipsService,
    private readonly notifier: EventNotifier,
    config: ConfigService<AppConfig, true>,
    @Optional() private readonly metrics?: MetricsService,
  ) {
    this.maxPerUser = config.get('sseMaxStreamsPerUser', { infer: true });
    this.maxPerInstance = config.get('sseMaxStreams', { infer: true });
  }

  /** Checks access (404 / 422 / 429 as problem+json), then takes over the response until it closes. */
  async open(
    userId: number,
    q: EventsStreamQueryDto,
    lastEventIdHeader: string | undefined,
    reply: FastifyReply,
  ): Promise<void> {
    this.assertCapacity(userId);
    const scope = await this.scope(userId, q);
    const after = parseLastEventId(lastEventIdHeader) ?? q.last_event_id ?? (await this.maxId());
    // Counted before the first await that could interleave with another open of the same user.
    this.assertCapacity(userId);
    const stream = new EventStream(this, scope, after, reply, this.logger);
    this.live.add(stream);
    this.perUser.set(userId, (this.perUser.get(userId) ?? 0) + 1);
    stream.start(() => {
      this.live.delete(stream);
      const n = (this.perUser.get(userId) ?? 1) - 1;
      if (n > 0) this.perUser.set(userId, n);
      else this.perUser.delete(userId);
      this.finished(userId, reply);
    });
  }

  private assertCapacity(userId: number): void {
    const mine = this.perUser.get(userId) ?? 0;
    if (mine >= this.maxPerUser || this.live.size >= this.maxPerInstance) {
      throw new AppError(
        429,
        'rate_limit/too_many_streams',
        mine >= this.maxPerUser
          ? `At most ${this.maxPerUser} open event streams per user; close one first`
          : 'This instance serves as many event streams as it can; retry later',
        { headers: { 'Retry-After': String(RETRY_AFTER_SECONDS) } },
      );
    }
  }

  /**
   * A hijacked reply skips Fastify's onResponse hook: the stream's one request line (same fields
   * as app.factory's) and its HTTP metric are written here when it closes.
   */
  private finished(userId: number, reply: FastifyReply): void {
    const route = reply.request.routeOptions.url ?? 'unmatched';
    const durationMs = Math.round(reply.elapsedTime * 100) / 100;
    reply.request.log.info(
      { userId, method: reply.request.method, route, status: 200, durationMs },
      'request',
    );
    this.metrics?.observeRequest(reply.request.method, route, 200, durationMs / 1000);
  }

  /** Ends the streams before the HTTP server closes (it would wait for them forever). */
  beforeApplicationShutdown(): void {
    for (const s of this.live) s.end();
    for (const f of this.feeds.values()) f.stop();
    this.feeds.clear();
  }

  /** Joins the stream to its organisations' feeds (created on first use); returns the leave. */
  subscribe(stream: EventStream, orgIds: readonly number[], after: number): () => void {
    for (const orgId of orgIds) {
      let feed = this.feeds.get(orgId);
      if (!feed) {
        feed = new OrgFeed(orgId, after, this, this.logger);
        this.feeds.set(orgId, feed);
        feed.start(this.notifier);
      }
      feed.add(stream);
    }
    return () => {
      for (const orgId of orgIds) {
        const feed = this.feeds.get(orgId);
        if (feed?.remove(stream) === 0) {
          feed.stop();
          this.feeds.delete(orgId);
        }
      }
    };
  }

  /** Which of these users are still members of the organisation (one query for a whole feed). */
  async stillMembers(orgId: number, userIds: readonly number[]): Promise<Set<number>> {
    const rows = await this.prisma.organizationMember.findMany({
      where: { organizationId: orgId, userId: { in: [...userIds] } },
      select: { userId: true },
    });
    return new Set(rows.map((r) => r.userId));
  }

  /** Events of the organisations after `after` (skipping `skip`), in id order. */
  async read(
    orgIds: readonly number[],
    clusterId: number | null,
    after: number,
    skip: readonly number[],
  ): Promise<DeploymentStreamEventDto[]> {
    const byCluster =
      clusterId === null ? Prisma.empty : Prisma.sql`AND e.cluster_id = ${clusterId}`;
    return this.prisma.$queryRaw<DeploymentStreamEventDto[]>`
      SELECT e.id, e.type, e.deployment_id, d.name AS deployment_name, d.priority,
             e.organization_id, e.cluster_id, e.from_status::text AS from_status,
             e.to_status::text AS to_status, e.actor, e.actor_user_id, e.code, e.reason,
             e.created_at
        FROM deployment_events e JOIN deployments d ON d.id = e.deployment_id
       WHERE e.organization_id = ANY(${[...orgIds]}::int[]) AND e.id > ${after}
         AND NOT (e.id = ANY(${[...skip]}::int[])) ${byCluster}
       ORDER BY e.id LIMIT ${BATCH}`;
  }

  readonly batch = BATCH;

  private async maxId(): Promise<number> {
    const rows = await this.prisma.$queryRaw<{ id: number | null }[]>`
      SELECT max(id) AS id FROM deployment_events`;
    return rows[0]?.id ?? 0;
  }

  private async scope(userId: number, q: EventsStreamQueryDto): Promise<Scope> {
    let orgIds: number[];
    if (q.organization_id !== undefined) {
      await this.memberships.requireRole(userId, q.organization_id, 'viewer');
      orgIds = [q.organization_id];
    } else {
      orgIds = await this.memberships.organizationIdsOf(userId);
    }
    if (q.cluster_id === undefined) {
      return { userId, orgIds, pinnedOrg: q.organization_id ?? null, clusterId: null };
    }
    const c = await this.prisma.cluster.findUnique({
      where: { id: q.cluster_id },
      select: { organizationId: true },
    });
    if (!c || !orgIds.includes(c.organizationId)) throw notFound('cluster');
    return {
      userId,
      orgIds: [c.organizationId],
      pinnedOrg: c.organizationId,
      clusterId: q.cluster_id,
    };
  }
}

function parseLastEventId(header: string | undefined): number | undefined {
  if (header === undefined || header === '') return undefined;
  const id = /^\d{1,10}$/.test(header) ? Number(header) : NaN;
  if (!(id <= MAX_DB_ID)) {
    throw unprocessable('request/validation_failed', 'The request is invalid', [
      { field: 'Last-Event-ID', message: 'Last-Event-ID must be an event id this API sent' },
    ]);
  }
  return id;
}
