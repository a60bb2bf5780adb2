import {
  Inject,
  Injectable,
  Logger,
  type OnApplicationShutdown,
  type OnModuleInit,
} from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import Redis from 'ioredis';
import { REDIS } from '../common/redis/redis.module';
import type { AppConfig } from '../config/configuration';

type Wake = () => void;

/**
 * "Organisation N has new deployment events": a wake-up call, never the events themselves (the
 * deployment_events table is the source of truth, so a lost message only delays delivery until
 * the streams' next poll). Writers call notify() after their transaction committed; it wakes this
 * replica's streams at once and publishes on a Redis channel that every replica subscribes to
 * with a connection of its own (a subscribed connection can run no other command).
 */
@Injectable()
export class EventNotifier implements OnModuleInit, OnApplicationShutdown {
  private readonly logger = new Logger(EventNotifier.name);
  /** ioredis' keyPrefix does not apply to channel names: the prefix is added here. */
  private readonly channel: string;
  private readonly redisUrl: string;
  private readonly listeners = new Map<number, Set<Wake>>();
  private subscriber: Redis | undefined;
  private subscriberDown = false;

  constructor(
    @Inject(REDIS) private readonly redis: Redis,
    config: ConfigService<AppConfig, true>,
  ) {
    this.channel = `${config.get('redisPrefix', { infer: true })}:deployment-events`;
    this.redisUrl = config.get('redisUrl', { infer: true });
  }

  /** Fire and forget: never fails the caller, whose change is already committed. */
  notify(organizationId: number): void {
    this.wake(organizationId);
    this.redis
      .publish(this.channel, JSON.stringify({ organizationId }))
      .catch((err: Error) => this.logger.debug(`event notification not published: ${err.message}`));
  }

  /** Calls `wake` whenever one of the organisations has new events; returns the unsubscribe. */
  listen(organizationIds: readonly number[], wake: Wake): () => void {
    for (const id of organizationIds) {
      let set = this.listeners.get(id);
      if (!set) this.listeners.set(id, (set = new Set()));
      set.add(wake);
    }
    return () => {
      for (const id of organizationIds) {
        const set = this.listeners.get(id);
        set?.delete(wake);
        if (set?.size === 0) this.listeners.delete(id);
      }
    };
  }

  onModuleInit(): void {
    // Queues the SUBSCRIBE until connected and re-subscribes after every reconnect; start-up
    // does not wait for Redis (the streams poll meanwhile).
    const sub = new Redis(this.redisUrl, {
      lazyConnect: true,
      maxRetriesPerRequest: null,
      connectTimeout: 2_000,
      disconnectTimeout: 200,
      retryStrategy: (times) => Math.min(times * 500, 5_000),
    });
    sub.on('message', (_channel: string, message: string) => this.onMessage(message));
    sub.on('ready', () => (this.subscriberDown = false));
    sub.on('error', (err: Error) => {
      if (!this.subscriberDown) this.logger.warn(`event subscriber: ${err.message}`);
      this.subscriberDown = true;
    });
    sub.subscribe(this.channel).catch((err: Error) => {
      this.logger.warn(`event subscription failed: ${err.message}`);
    });
    sub.connect().catch(() => undefined);
    this.subscriber = sub;
  }

  onApplicationShutdown(): void {
    this.subscriber?.disconnect();
  }

  private onMessage(message: string): void {
    try {
      const { organizationId } = JSON.parse(message) as { organizationId?: unknown };
      if (typeof organizationId === 'number') this.wake(organizationId);
    } catch {
      // Not one of ours: ignore.
    }
  }

  private wake(organizationId: number): void {
    for (const wake of this.listeners.get(organizationId) ?? []) wake();
  }
}
