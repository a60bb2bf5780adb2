import { Logger } from '@nestjs/common';
import Redis from 'ioredis';
import { ResilientThrottlerStorage } from './resilient-storage';

/** Issue 11, defect 6: one warning per Redis outage, not one per request. */
describe(ResilientThrottlerStorage.name, () => {
  let warn: jest.SpyInstance;
  beforeEach(() => {
    warn = jest.spyOn(Logger.prototype, 'warn').mockImplementation(() => undefined);
  });
  afterEach(() => warn.mockRestore());

  it('should log one warning for a whole outage and count in memory meanwhile', async () => {
    // Nothing listens on this port; no offline queue, so every command fails at once.
    const redis = new Redis('redis://127.0.0.1:19159', {
      lazyConnect: true,
      enableOfflineQueue: false,
      maxRetriesPerRequest: 0,
      retryStrategy: () => null,
    });
    const storage = new ResilientThrottlerStorage(redis);
    try {
      const hits: number[] = [];
      for (let i = 0; i < 20; i++) {
        hits.push((await storage.increment('k', 60_000, 100, 0, 'default')).totalHits);
      }
      expect(hits.at(-1)).toBe(20);
      expect(warn).toHaveBeenCalledTimes(1);
    } finally {
      storage.onApplicationShutdown();
      redis.disconnect();
    }
  });
});
