import { fuzz } from '../fuzz/fuzzer';
import { startApp, type TestContext } from '../support/app';

/**
 * Schema-driven fuzzing: every operation of openapi.json with valid, boundary and hostile input;
 * never a 5xx, every error problem+json with a documented code, every 2xx body valid against its
 * documented schema. `npm test` (and CI) runs a fixed-seed slice of 600 requests;
 * `npm run fuzz` runs FUZZ_REQUESTS (12,000) with FC_SEED (fresh unless set) and prints figures.
 */
const REQUESTS = Number(process.env.FUZZ_REQUESTS ?? 600);
const SEED = Number(
  process.env.FC_SEED ?? (process.env.FUZZ_REQUESTS ? Date.now() % 1e9 : 20261202),
);

describe('Schema-driven fuzzing', () => {
  let ctx: TestContext;
  const metricsToken = 'fuzz-metrics-token-0123456789abcdef';
  beforeAll(async () => {
    ctx = await startApp({ env: { LOG_LEVEL: 'warn', METRICS_TOKEN: metricsToken } });
  });
  afterAll(() => ctx.close());

  it(
    `should answer ${REQUESTS} generated requests (seed ${SEED}) without a 5xx or an undocumented error`,
    async () => {
      const report = await fuzz(ctx, { seed: SEED, requests: REQUESTS, metricsToken });
      if (process.env.FUZZ_REQUESTS) {
        console.log(
          JSON.stringify({
            seed: SEED,
            requests: report.requests,
            seconds: report.ms / 1000,
            byStatus: report.byStatus,
            failures: report.failures.length,
          }),
        );
      }
      expect(report.requests).toBeGreaterThanOrEqual(REQUESTS);
      expect(report.failures.slice(0, 20)).toEqual([]);
    },
    Math.max(180_000, REQUESTS * 100),
  );
});
