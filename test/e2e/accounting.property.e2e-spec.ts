import fc from 'fast-check';
import { Client } from 'pg';
import { startApp, type TestContext } from '../support/app';
import { createCluster, createOrg, createUser, type TestUser } from '../support/factories';
import { ledgerViolations } from '../support/ledger';

// Hooks too: under a parallel run, booting the app and hashing passwords can pass 5 s.

/** Amounts in milli-units; sent as units with up to 3 decimals. */
const milli = (max: number, min = 0) => fc.integer({ min, max });
const units = (m: number) => m / 1000;

type Op =
  | {
      kind: 'create';
      cluster: number | null;
      cpu: number;
      ram: number;
      gpu: number;
      priority: number;
      deps: number[];
    }
  | { kind: 'start' | 'complete' | 'fail' | 'cancel'; target: number }
  | { kind: 'resize'; cluster: number; cpu: number; ram: number; gpu: number };

const opArb: fc.Arbitrary<Op> = fc.oneof(
  {
    weight: 4,
    arbitrary: fc.record({
      kind: fc.constant('create' as const),
      cluster: fc.option(fc.integer({ min: 0, max: 1 }), { nil: null }),
      cpu: milli(4000),
      ram: milli(6000),
      gpu: fc.constantFrom(0, 500, 1000),
      priority: fc.integer({ min: -1000, max: 1000 }),
      deps: fc.array(fc.nat(40), { maxLength: 2 }),
    }),
  },
  {
    weight: 6,
    arbitrary: fc.record({
      kind: fc.constantFrom(
        'start' as const,
        'complete' as const,
        'fail' as const,
        'cancel' as const,
      ),
      target: fc.nat(40),
    }),
  },
  {
    weight: 1,
    arbitrary: fc.record({
      kind: fc.constant('resize' as const),
      cluster: fc.integer({ min: 0, max: 1 }),
      cpu: milli(8000, 1),
      ram: milli(8000, 1),
      gpu: milli(2000),
    }),
  },
);

interface Row {
  id: number;
  status: string;
  cluster_id: number | null;
}

/** Ledger plus the dependency rules, checked in SQL. */
async function violations(db: Client): Promise<unknown[]> {
  const ledger = await ledgerViolations(db);
  const { rows: deps } = await db.query<Record<string, unknown>>(`
    SELECT d.id, d.status, x.id AS dep, x.status AS dep_status
    FROM deployments d
    JOIN deployment_dependencies dd ON dd.deployment_id = d.id
    JOIN deployments x ON x.id = dd.depends_on_id
    WHERE (d.status = 'pending' AND x.status IN ('failed', 'cancelled'))
       OR (d.status = 'running' AND x.status <> 'completed')`);
  return [...ledger, ...deps];
}

describe('accounting properties (random operation sequences through HTTP)', () => {
  let ctx: TestContext;
  let db: Client;
  let admin: TestUser;

  beforeAll(async () => {
    ctx = await startApp();
    db = new Client({ connectionString: ctx.databaseUrl });
    await db.connect();
    admin = await createUser(ctx, 'prop');
  });
  afterAll(async () => {
    await db.end();
    await ctx.close();
  });

  it('should keep available = total − Σ running after every step and answer as the state machine says', async () => {
    const seen = { placed: 0, freed: 0, refused: 0, shrinkRefused: 0 };
    await fc.assert(
      fc.asyncProperty(fc.array(opArb, { minLength: 10, maxLength: 30 }), async (ops) => {
        const org = await createOrg(ctx, admin);
        const clusters = [
          await createCluster(ctx, admin, org.id, { total_cpu: 6, total_ram: 8, total_gpu: 1 }),
          await createCluster(ctx, admin, org.id, {
            total_cpu: 3.5,
            total_ram: 4.25,
            total_gpu: 0,
          }),
        ];
        const ids: number[] = [];
        const status = async (id: number) =>
          (
            await db.query<Row>('SELECT id, status, cluster_id FROM deployments WHERE id = $1', [
              id,
            ])
          ).rows[0];
        for (const op of ops) {
          if (op.kind === 'create') {
            const cluster = op.cluster === null ? undefined : clusters[op.cluster];
            const deps = ids.length ? [...new Set(op.deps.map((k) => ids[k % ids.length]!))] : [];
            const res = await ctx
              .http()
              .post('/deployments/')
              .set(admin.auth)
              .send({
                name: 'p',
                docker_image: 'nginx:1.27',
                ...(cluster ? { cluster_id: cluster.id } : { organization_id: org.id }),
                required_cpu: units(op.cpu),
                required_ram: units(op.ram),
                required_gpu: units(op.gpu),
                priority: op.priority,
                depends_on: deps,
              });
            // Can never fit (e.g. after a shrink) → 422; otherwise created.
            expect([201, 422]).toContain(res.status);
            if (res.status === 422) {
              expect(res.body.code).toBe('deployment/exceeds_cluster_capacity');
            } else {
              ids.push((res.body as { id: number }).id);
              // The scheduler's pass on creation places whatever it can at once.
              if ((res.body as { status: string }).status === 'running') seen.placed++;
            }
          } else if (op.kind === 'resize') {
            const c = clusters[op.cluster]!;
            const { rows } = await db.query<{ ram: number; cpu: number; gpu: number }>(
              `SELECT COALESCE(sum(required_ram_milli), 0)::int AS ram,
                      COALESCE(sum(required_cpu_milli), 0)::int AS cpu,
                      COALESCE(sum(required_gpu_milli), 0)::int AS gpu
               FROM deployments WHERE cluster_id = $1 AND status = 'running'`,
              [c.id],
            );
            const used = rows[0]!;
            const fits = op.cpu >= used.cpu && op.ram >= used.ram && op.gpu >= used.gpu;
            const res = await ctx
              .http()
              .patch(`/clusters/${c.id}`)
              .set(admin.auth)
              .send({
                total_cpu: units(op.cpu),
                total_ram: units(op.ram),
                total_gpu: units(op.gpu),
              });
            expect(res.status).toBe(fits ? 200 : 409);
            if (!fits) {
              expect(res.body.code).toBe('cluster/shrink_below_allocated');
              seen.shrinkRefused++;
            }
          } else if (ids.length > 0) {
            const id = ids[op.target % ids.length]!;
            const before = (await status(id))!.status;
            const res = await ctx.http().post(`/deployments/${id}/${op.kind}`).set(admin.auth);
            const allowed = {
              start: before === 'pending',
              complete: before === 'running',
              fail: before === 'running',
              cancel: before === 'pending' || before === 'running',
            }[op.kind];
            if (!allowed) {
              expect(res.status).toBe(409);
              expect(res.body.code).toBe('deployment/illegal_transition');
            } else if (op.kind === 'start') {
              expect([200, 409]).toContain(res.status);
              if (res.status === 200) {
                expect(res.body.status).toBe('running');
                seen.placed++;
              } else {
                expect(res.body.code).toBe('deployment/cannot_place');
                seen.refused++;
              }
            } else {
              expect(res.status).toBe(200);
              if (before === 'running') seen.freed++;
              expect((await status(id))!.status).toBe(
                op.kind === 'complete' ? 'completed' : op.kind === 'fail' ? 'failed' : 'cancelled',
              );
            }
          }
          expect(await violations(db)).toEqual([]);
        }
      }),
      { numRuns: 40 },
    );
    // The sequences really exercised placement, freeing and refusals.
    expect(seen.placed).toBeGreaterThan(5);
    expect(seen.freed).toBeGreaterThan(2);
    expect(seen.refused).toBeGreaterThan(0);
  }, 300_000);
});
