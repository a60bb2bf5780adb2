import type { ConfigService } from '@nestjs/config';
import type { AppConfig } from '../config/configuration';
import type { PrismaService } from '../prisma/prisma.service';
import { SchedulerService, type PassResult } from './scheduler.service';

/** Coordination only: the pass itself is covered by the e2e tests on PostgreSQL. */
describe(SchedulerService.name, () => {
  const config = { get: () => 0 } as unknown as ConfigService<AppConfig, true>;
  let service: SchedulerService;
  let started: { org: number; release: () => void }[];

  beforeEach(() => {
    service = new SchedulerService({} as PrismaService, config);
    started = [];
    jest.spyOn(service, 'runPass').mockImplementation(
      (organizationId: number, trigger: string) =>
        new Promise<PassResult>((resolve) => {
          started.push({
            org: organizationId,
            release: () =>
              resolve({
                organizationId,
                trigger,
                durationMs: 0,
                placements: 0,
                preemptions: 0,
                failures: 0,
                pending: 0,
              }),
          });
        }),
    );
  });

  const flush = () => new Promise((r) => setImmediate(r));

  it('should coalesce a burst into the running pass plus one queued pass', async () => {
    const first = service.requestPass(1, 'a');
    const burst = [
      service.requestPass(1, 'b'),
      service.requestPass(1, 'c'),
      service.requestPass(1, 'd'),
    ];
    await flush();
    expect(started).toHaveLength(1);
    started[0]!.release();
    await first;
    await flush();
    expect(started).toHaveLength(2); // the queued pass starts only after the first finished
    started[1]!.release();
    await Promise.all(burst);
    expect(started).toHaveLength(2);
  });

  it('should start a new pass for a request made while the queued one is already running', async () => {
    const first = service.requestPass(1, 'a');
    const second = service.requestPass(1, 'b');
    started[0]!.release();
    await first;
    await flush();
    const third = service.requestPass(1, 'c'); // second is running now: third must wait for a later pass
    started[1]!.release();
    await second;
    await flush();
    expect(started).toHaveLength(3);
    started[2]!.release();
    await third;
  });

  it('should run passes of different organisations independently', async () => {
    void service.requestPass(1, 'a');
    void service.requestPass(2, 'a');
    await flush();
    expect(started.map((s) => s.org)).toEqual([1, 2]);
    started.forEach((s) => s.release());
  });

  it('should still run the queued pass when the running one fails', async () => {
    jest.spyOn(service, 'runPass').mockRejectedValueOnce(new Error('boom'));
    const first = service.requestPass(1, 'a');
    const second = service.requestPass(1, 'b');
    await expect(first).rejects.toThrow('boom');
    await flush();
    expect(started).toHaveLength(1);
    started[0]!.release();
    await expect(second).resolves.toMatchObject({ trigger: 'b' });
  });
});
