import type { Logger } from '@nestjs/common';
import type { FastifyReply } from 'fastify';
import type { DeploymentStreamEventDto } from './dto/events-stream-query.dto';
import type { EventNotifier } from './event-notifier.service';

export const POLL_MS = 2_000;
const KEEP_ALIVE_MS = 15_000;
/**
 * Event ids come from a sequence when the row is inserted, but transactions commit in any
 * order: a row with a lower id can become visible just after a higher one. Ids delivered during
 * this window are re-read (and skipped when already sent).
 */
const LATE_COMMIT_WINDOW_MS = 5_000;
/** A client this far behind is cut off; it resumes with Last-Event-ID when it reconnects. */
const MAX_QUEUED_WRITES = 2_000;

export interface Scope {
  userId: number;
  orgIds: number[];
  /** The organization asked for with ?organization_id= (the stream ends if the caller leaves). */
  pinnedOrg: number | null;
  clusterId: number | null;
}

/** What the feeds and streams need from DeploymentEventStreams. */
export interface FeedHub {
  readonly batch: number;
  read(
    orgIds: readonly number[],
    clusterId: number | null,
    after: number,
    skip: readonly number[],
  ): Promise<DeploymentStreamEventDto[]>;
  stillMembers(orgId: number, userIds: readonly number[]): Promise<Set<number>>;
  subscribe(stream: EventStream, orgIds: readonly number[], after: number): () => void;
}

/** Ids seen, with when; ids that left the late-commit window raise the floor. */
class Cursor {
  private readonly recent = new Map<number, number>();
  constructor(public floor: number) {}

  seen(id: number): boolean {
    return id <= this.floor || this.recent.has(id);
  }
  mark(id: number): void {
    this.recent.set(id, Date.now());
  }
  skip(): number[] {
    const cutoff = Date.now() - LATE_COMMIT_WINDOW_MS;
    for (const [id, at] of this.recent) {
      if (at >= cutoff) continue;
      this.recent.delete(id);
      if (id > this.floor) this.floor = id;
    }
    return [...this.recent.keys()];
  }
}

/**
 * One organisation's events on this instance: one read per wake-up or poll however many streams
 * are open, and before each delivery one query for which of the streams' users are still members
 * (a removed member's stream stops before the next event reaches it).
 */
export class OrgFeed {
  private readonly cursor: Cursor;
  private readonly streams = new Set<EventStream>();
  private readonly timers: NodeJS.Timeout[] = [];
  private unlisten: () => void = () => undefined;
  private pumping = false;
  private again = false;
  private stopped = false;

  constructor(
    readonly orgId: number,
    after: number,
    private readonly hub: FeedHub,
    private readonly logger: Logger,
  ) {
    this.cursor = new Cursor(after);
  }

  start(notifier: EventNotifier): void {
    this.unlisten = notifier.listen([this.orgId], () => this.pump());
    this.timers.push(setInterval(() => this.pump(), POLL_MS));
    this.timers.push(setInterval(() => void this.checkMembers(), KEEP_ALIVE_MS));
  }

  stop(): void {
    this.stopped = true;
    for (const t of this.timers) clearInterval(t);
    this.unlisten();
  }

  add(stream: EventStream): void {
    this.streams.add(stream);
    this.pump();
  }

  /** Returns how many streams are left. */
  remove(stream: EventStream): number {
    this.streams.delete(stream);
    return this.streams.size;
  }

  /** Coalesces wake-ups: one read at a time, and one more if woken meanwhile. */
  private pump(): void {
    if (this.stopped) return;
    if (this.pumping) {
      this.again = true;
      return;
    }
    this.pumping = true;
    void this.drain()
      .catch((err: Error) => this.logger.warn({ err: err.message }, 'event feed read failed'))
      .finally(() => {
        this.pumping = false;
        if (this.again) {
          this.again = false;
          this.pump();
        }
      });
  }

  private async drain(): Promise<void> {
    for (;;) {
      const rows = await this.hub.read([this.orgId], null, this.cursor.floor, this.cursor.skip());
      const fresh = rows.filter((e) => !this.cursor.seen(e.id));
      if (fresh.length > 0) await this.checkMembers();
      for (const e of fresh) {
        this.cursor.mark(e.id);
        for (const s of this.streams) s.offer(e);
      }
      if (rows.length < this.hub.batch || this.stopped) return;
    }
  }

  private async checkMembers(): Promise<void> {
    if (this.streams.size === 0) return;
    const users = [...new Set([...this.streams].map((s) => s.userId))];
    try {
      const members = await this.hub.stillMembers(this.orgId, users);
      for (const s of [...this.streams]) {
        if (!members.has(s.userId)) s.lostOrganization(this.orgId);
      }
    } catch (err) {
      this.logger.warn({ err: (err as Error).message }, 'event feed membership check failed');
    }
  }
}

/** One client connection: a catch-up read from its cursor, then what its feeds offer. */
export class EventStream {
  private readonly cursor: Cursor;
  private catchingUp = true;
  private readonly held: DeploymentStreamEventDto[] = [];
  private closed = false;
  private queued = 0;
  private chain: Promise<void> = Promise.resolve();
  private readonly leave = new Map<number, () => void>();
  private keepAlive: NodeJS.Timeout | undefined;

  constructor(
    private readonly hub: FeedHub,
    private scope: Scope,
    after: number,
    private readonly reply: FastifyReply,
    private readonly logger: Logger,
  ) {
    this.cursor = new Cursor(after);
  }

  get userId(): number {
    return this.scope.userId;
  }

  start(onClose: () => void): void {
    const raw = this.reply.raw;
    this.reply.hijack();
    raw.writeHead(200, {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-cache, no-transform',
      connection: 'keep-alive',
      'x-accel-buffering': 'no',
      'x-content-type-options': 'nosniff',
      'x-request-id': String(this.reply.request.id),
    });
    raw.flushHeaders();
    raw.write(`retry: ${POLL_MS}\n\n`);
    raw.on('close', () => {
      this.closed = true;
      clearInterval(this.keepAlive);
      for (const leave of this.leave.values()) leave();
      this.leave.clear();
      onClose();
    });
    for (const orgId of this.scope.orgIds) {
      this.leave.set(orgId, this.hub.subscribe(this, [orgId], this.cursor.floor));
    }
    this.keepAlive = setInterval(() => this.enqueue(': keep-alive\n\n'), KEEP_ALIVE_MS);
    void this.catchUp();
  }

  end(): void {
    if (!this.reply.raw.writableEnded) this.reply.raw.end();
  }

  /** A feed's event: held while the catch-up read runs, then delivered once. */
  offer(e: DeploymentStreamEventDto): void {
    if (this.closed || !this.scope.orgIds.includes(e.organization_id)) return;
    if (this.scope.clusterId !== null && e.cluster_id !== this.scope.clusterId) return;
    if (this.catchingUp) this.held.push(e);
    else this.deliver(e);
  }

  /** The user left (or was removed from) the organisation: stop its events at once. */
  lostOrganization(orgId: number): void {
    const orgIds = this.scope.orgIds.filter((id) => id !== orgId);
    this.leave.get(orgId)?.();
    this.leave.delete(orgId);
    this.scope = { ...this.scope, orgIds };
    if (orgIds.length === 0 || this.scope.pinnedOrg === orgId) this.end();
  }

  private async catchUp(): Promise<void> {
    try {
      for (;;) {
        const rows = await this.hub.read(
          this.scope.orgIds,
          this.scope.clusterId,
          this.cursor.floor,
          this.cursor.skip(),
        );
        for (const e of rows) this.deliver(e);
        if (rows.length < this.hub.batch || this.closed) break;
      }
    } catch (err) {
      this.logger.warn({ err: (err as Error).message }, 'event stream catch-up failed');
    } finally {
      this.catchingUp = false;
      for (const e of this.held.splice(0)) this.deliver(e);
    }
  }

  private deliver(e: DeploymentStreamEventDto): void {
    if (this.closed || this.cursor.seen(e.id)) return;
    this.cursor.mark(e.id);
    this.cursor.skip();
    this.enqueue(`id: ${e.id}\nevent: ${e.type}\ndata: ${JSON.stringify(e)}\n\n`);
  }

  /** Writes in order, waiting for the socket to drain when the client reads slowly. */
  private enqueue(chunk: string): void {
    if (this.closed) return;
    if (++this.queued > MAX_QUEUED_WRITES) {
      this.end();
      return;
    }
    this.chain = this.chain.then(() => this.write(chunk)).finally(() => void this.queued--);
  }

  private write(chunk: string): Promise<void> {
    const raw = this.reply.raw;
    if (this.closed || raw.writableEnded) return Promise.resolve();
    if (raw.write(chunk)) return Promise.resolve();
    return new Promise((resolve) => {
      const done = (): void => {
        raw.off('drain', done);
        raw.off('close', done);
        resolve();
      };
      raw.on('drain', done);
      raw.on('close', done);
    });
  }
}
