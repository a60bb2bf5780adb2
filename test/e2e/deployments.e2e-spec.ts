import { startApp, type TestContext } from '../support/app';
import { runDeployment, type DeploymentBody } from '../support/deployments';
import { createCluster, createDeployment, createOrg, createTeam } from '../support/factories';
import { ledgerViolations, withClient } from '../support/ledger';

// Hooks too: under a parallel run, booting the app and hashing passwords can pass 5 s.

type Team = Awaited<ReturnType<typeof createTeam>>;

describe('DeploymentsController (e2e)', () => {
  let ctx: TestContext;
  let t: Team;

  beforeAll(async () => {
    ctx = await startApp();
    t = await createTeam(ctx);
  });
  afterEach(async () => {
    expect(await withClient(ctx.databaseUrl, ledgerViolations)).toEqual([]);
  });
  afterAll(() => ctx.close());

  const http = () => ctx.http();
  const resources = async (clusterId: number) =>
    (await http().get(`/clusters/${clusterId}/resources`).set(t.viewer.auth).expect(200))
      .body as Record<string, number>;
  const available = async (clusterId: number) => {
    const r = await resources(clusterId);
    return [r.available_cpu, r.available_ram, r.available_gpu];
  };
  const gpuCluster = () =>
    createCluster(ctx, t.admin, t.org.id, { total_cpu: 8, total_ram: 32, total_gpu: 2 });
  /** A deployment that stays pending whatever the placement: it waits for a running one. */
  const pendingOn = async (clusterId: number) => {
    const blocker = await runDeployment(ctx, t.developer, {
      cluster_id: clusterId,
      required_cpu: 0.001,
      required_ram: 0.001,
    });
    const d = await createDeployment(ctx, t.developer, {
      cluster_id: clusterId,
      required_cpu: 1,
      required_ram: 1,
      depends_on: [blocker.id],
    });
    expect(d.status).toBe('pending');
    return { blocker, d };
  };

  describe('accounting', () => {
    it('should take resources when started and give them back when completed', async () => {
      const c = await gpuCluster();
      // Creation runs a scheduler pass at once: the deployment fits, so it is already running.
      const started = await http()
        .post('/deployments/')
        .set(t.developer.auth)
        .send({
          name: 'web',
          docker_image: 'nginx:1.27',
          cluster_id: c.id,
          required_cpu: 2,
          required_ram: 4,
        })
        .expect(201);
      const d = started.body as { id: number };
      expect(started.body).toMatchObject({
        pinned: true,
        user_id: t.developer.id,
        status: 'running',
        cluster_id: c.id,
        pending_reason: null,
      });
      expect(started.body.started_at).not.toBeNull();
      expect(await available(c.id)).toEqual([6, 28, 2]);
      const r = await resources(c.id);
      expect(r).toMatchObject({ allocated_cpu: 2, allocated_ram: 4, running_deployments: 1 });
      const done = await http()
        .post(`/deployments/${d.id}/complete`)
        .set(t.developer.auth)
        .expect(200);
      expect(done.body).toMatchObject({ status: 'completed' });
      expect(done.body.completed_at).not.toBeNull();
      expect(await available(c.id)).toEqual([8, 32, 2]);
    });

    it('should return 409 when completing twice and free only once', async () => {
      const c = await gpuCluster();
      const other = await runDeployment(ctx, t.developer, {
        cluster_id: c.id,
        required_cpu: 1,
        required_ram: 1,
      });
      const d = await runDeployment(ctx, t.developer, {
        cluster_id: c.id,
        required_cpu: 2,
        required_ram: 4,
        required_gpu: 1,
      });
      await http().post(`/deployments/${d.id}/complete`).set(t.developer.auth).expect(200);
      const again = await http()
        .post(`/deployments/${d.id}/complete`)
        .set(t.developer.auth)
        .expect(409);
      expect(again.body.code).toBe('deployment/illegal_transition');
      await http().post(`/deployments/${d.id}/fail`).set(t.developer.auth).expect(409);
      await http().post(`/deployments/${d.id}/cancel`).set(t.developer.auth).expect(409);
      expect(await available(c.id)).toEqual([7, 31, 2]);
      expect(other.status).toBe('running');
    });

    it('should return 409 when completing or failing a pending deployment and free nothing', async () => {
      const c = await gpuCluster();
      const { d } = await pendingOn(c.id);
      const before = await available(c.id);
      for (const action of ['complete', 'fail']) {
        const res = await http()
          .post(`/deployments/${d.id}/${action}`)
          .set(t.developer.auth)
          .expect(409);
        expect(res.body.code).toBe('deployment/illegal_transition');
      }
      expect(await available(c.id)).toEqual(before);
    });

    it('should free a running deployment when cancelled, and a pending one frees nothing', async () => {
      const c = await gpuCluster();
      const d = await runDeployment(ctx, t.developer, {
        cluster_id: c.id,
        required_cpu: 3,
        required_ram: 5,
        required_gpu: 2,
      });
      expect(await available(c.id)).toEqual([5, 27, 0]);
      const res = await http()
        .post(`/deployments/${d.id}/cancel`)
        .set(t.developer.auth)
        .expect(200);
      expect(res.body.status).toBe('cancelled');
      expect(await available(c.id)).toEqual([8, 32, 2]);
      const { blocker, d: p } = await pendingOn(c.id);
      await http().post(`/deployments/${p.id}/cancel`).set(t.developer.auth).expect(200);
      await http().post(`/deployments/${blocker.id}/complete`).set(t.developer.auth).expect(200);
      expect(await available(c.id)).toEqual([8, 32, 2]);
    });

    it('should stay exact after 200+ allocations and frees of 0.1 cpu', async () => {
      const c = await gpuCluster();
      for (let round = 0; round < 3; round++) {
        // 75 at a time in parallel: 0.1 is not exact in binary, the milli-unit ledger is.
        const batch: DeploymentBody[] = await Promise.all(
          Array.from({ length: 75 }, () =>
            runDeployment(ctx, t.developer, {
              cluster_id: c.id,
              required_cpu: 0.1,
              required_ram: 0.1,
            }),
          ),
        );
        const mid = await resources(c.id);
        expect(mid.available_cpu).toBe(0.5);
        expect(mid.available_ram).toBe(24.5);
        await Promise.all(
          batch.map((d) =>
            http().post(`/deployments/${d.id}/complete`).set(t.developer.auth).expect(200),
          ),
        );
      }
      expect(await available(c.id)).toEqual([8, 32, 2]);
    }, 60_000);

    it('should keep two clusters’ capacities independent', async () => {
      const a = await gpuCluster();
      const b = await gpuCluster();
      const d = await runDeployment(ctx, t.developer, {
        cluster_id: a.id,
        required_cpu: 8,
        required_ram: 32,
        required_gpu: 2,
      });
      expect(await available(a.id)).toEqual([0, 0, 0]);
      expect(await available(b.id)).toEqual([8, 32, 2]);
      await runDeployment(ctx, t.developer, { cluster_id: b.id, required_cpu: 1, required_ram: 1 });
      await http().post(`/deployments/${d.id}/complete`).set(t.developer.auth).expect(200);
      expect(await available(a.id)).toEqual([8, 32, 2]);
      expect(await available(b.id)).toEqual([7, 31, 2]);
    });
  });

  describe('POST /deployments', () => {
    it('should return 422 deployment/exceeds_cluster_capacity when it can never fit', async () => {
      const c = await gpuCluster();
      const pinned = await http()
        .post('/deployments/')
        .set(t.developer.auth)
        .send({
          name: 'big',
          docker_image: 'nginx',
          cluster_id: c.id,
          required_cpu: 8.001,
          required_ram: 1,
        })
        .expect(422);
      expect(pinned.body.code).toBe('deployment/exceeds_cluster_capacity');
      expect(pinned.body.detail).toContain('cpu');
      const gpu = await http()
        .post('/deployments/')
        .set(t.developer.auth)
        .send({
          name: 'big',
          docker_image: 'nginx',
          organization_id: t.org.id,
          required_cpu: 1,
          required_ram: 1,
          required_gpu: 100,
        })
        .expect(422);
      expect(gpu.body.code).toBe('deployment/exceeds_cluster_capacity');
      expect(gpu.body.detail).toContain('gpu');
      const empty = await createOrg(ctx, t.admin);
      const none = await http()
        .post('/deployments/')
        .set(t.admin.auth)
        .send({
          name: 'x',
          docker_image: 'nginx',
          organization_id: empty.id,
          required_cpu: 1,
          required_ram: 1,
        })
        .expect(422);
      expect(none.body.code).toBe('deployment/exceeds_cluster_capacity');
    });

    it.each([
      ['an invalid image', { docker_image: 'Not A Valid/Image' }],
      ['an image with a bad digest', { docker_image: 'nginx@sha256:abc' }],
      ['an empty name', { name: '' }],
      ['a 101-character name', { name: 'x'.repeat(101) }],
      ['priority 1001', { priority: 1001 }],
      ['a fractional priority', { priority: 1.5 }],
      ['negative cpu', { required_cpu: -1 }],
      ['four decimals of ram', { required_ram: 0.0001 }],
      ['no organization nor cluster', { organization_id: undefined }],
      ['depends_on that is not a list of ids', { depends_on: ['a'] }],
    ])('should return 422 request/validation_failed for %s', async (_what, patch) => {
      const body = {
        name: 'ok',
        docker_image: 'ghcr.io/acme/api:1.0',
        organization_id: t.org.id,
        required_cpu: 1,
        required_ram: 1,
        ...patch,
      };
      const res = await http().post('/deployments/').set(t.developer.auth).send(body).expect(422);
      expect(res.body.code).toBe('request/validation_failed');
      expect(res.body.errors.length).toBeGreaterThan(0);
    });

    it('should create unpinned work without a cluster and ignore fields the caller may not set', async () => {
      await gpuCluster();
      const res = await http()
        .post('/deployments')
        .set(t.developer.auth)
        .send({
          name: 'free',
          docker_image: `registry.example.com:5000/team/app@sha256:${'f'.repeat(64)}`,
          organization_id: t.org.id,
          cluster_id: null,
          priority: -1000,
          required_cpu: 1,
          required_ram: 2,
          status: 'running',
          user_id: t.admin.id,
          preemption_count: 9,
        })
        .expect(201);
      expect(res.body).toMatchObject({
        user_id: t.developer.id,
        organization_id: t.org.id,
        priority: -1000,
        required_gpu: 0,
        depends_on: [],
        preemption_count: 0,
        pinned: false,
        failure_reason: null,
      });
      if (res.body.status === 'pending') {
        expect(res.body.cluster_id).toBeNull();
        expect(res.body.pending_reason).toEqual({
          code: expect.any(String),
          message: expect.any(String),
        });
      }
    });

    it('should place unpinned work on the fitting cluster with the least free cpu', async () => {
      const org = await createOrg(ctx, t.admin);
      const roomy = await createCluster(ctx, t.admin, org.id, { total_cpu: 16, total_ram: 16 });
      const snug = await createCluster(ctx, t.admin, org.id, { total_cpu: 4, total_ram: 16 });
      await createCluster(ctx, t.admin, org.id, { total_cpu: 2, total_ram: 16 });
      const d = await runDeployment(ctx, t.admin, {
        organization_id: org.id,
        required_cpu: 3,
        required_ram: 1,
      });
      expect(d.cluster_id).toBe(snug.id);
      const e = await runDeployment(ctx, t.admin, {
        organization_id: org.id,
        required_cpu: 3,
        required_ram: 1,
      });
      expect(e.cluster_id).toBe(roomy.id);
    });

    it('should return 422 deployment/invalid_dependency for unknown or foreign dependencies', async () => {
      const c = await gpuCluster();
      const foreignCluster = await createCluster(ctx, t.outsider, t.otherOrg.id, {
        total_cpu: 1,
        total_ram: 1,
      });
      const foreign = await createDeployment(ctx, t.outsider, {
        cluster_id: foreignCluster.id,
        required_cpu: 1,
        required_ram: 1,
      });
      for (const depends_on of [[999999], [foreign.id]]) {
        const res = await http()
          .post('/deployments/')
          .set(t.developer.auth)
          .send({
            name: 'x',
            docker_image: 'nginx',
            cluster_id: c.id,
            required_cpu: 1,
            required_ram: 1,
            depends_on,
          })
          .expect(422);
        expect(res.body.code).toBe('deployment/invalid_dependency');
      }
    });
  });

  describe('POST /deployments/:id/start', () => {
    it('should return 409 deployment/cannot_place with the pending reason when it does not fit now', async () => {
      const c = await createCluster(ctx, t.admin, t.org.id, { total_cpu: 4, total_ram: 8 });
      await runDeployment(ctx, t.developer, { cluster_id: c.id, required_cpu: 2, required_ram: 1 });
      const d = await createDeployment(ctx, t.developer, {
        cluster_id: c.id,
        required_cpu: 4,
        required_ram: 1,
      });
      expect(d.status).toBe('pending');
      const res = await http().post(`/deployments/${d.id}/start`).set(t.developer.auth).expect(409);
      expect(res.body.code).toBe('deployment/cannot_place');
      expect(res.body.pending_reason).toEqual({
        code: 'insufficient_resources',
        message: expect.stringContaining('insufficient cpu: needs 4, 2 free'),
      });
      const got = await http().get(`/deployments/${d.id}`).set(t.viewer.auth).expect(200);
      expect(got.body.pending_reason).toEqual(res.body.pending_reason);
    });

    it('should wait for dependencies and say which', async () => {
      const c = await gpuCluster();
      const { blocker, d } = await pendingOn(c.id);
      const res = await http().post(`/deployments/${d.id}/start`).set(t.developer.auth).expect(409);
      expect(res.body.pending_reason).toEqual({
        code: 'waiting_for_dependencies',
        message: `waiting for dependencies ${blocker.id}`,
      });
      await http().post(`/deployments/${blocker.id}/complete`).set(t.developer.auth).expect(200);
      const started = await http().post(`/deployments/${d.id}/start`).set(t.developer.auth);
      // A scheduler may have placed it as soon as the dependency completed.
      const now = await http().get(`/deployments/${d.id}`).set(t.viewer.auth).expect(200);
      expect(now.body.status).toBe('running');
      expect([200, 409]).toContain(started.status);
      expect(now.body.depends_on).toEqual([blocker.id]);
    });

    it('should return 409 deployment/illegal_transition when it is not pending', async () => {
      const c = await gpuCluster();
      const d = await runDeployment(ctx, t.developer, {
        cluster_id: c.id,
        required_cpu: 1,
        required_ram: 1,
      });
      const res = await http().post(`/deployments/${d.id}/start`).set(t.developer.auth).expect(409);
      expect(res.body.code).toBe('deployment/illegal_transition');
    });
  });

  describe('dependencies', () => {
    it('should fail pending dependants recursively when a dependency fails', async () => {
      const c = await gpuCluster();
      const root = await runDeployment(ctx, t.developer, {
        cluster_id: c.id,
        required_cpu: 1,
        required_ram: 1,
      });
      const child = await createDeployment(ctx, t.developer, {
        cluster_id: c.id,
        required_cpu: 1,
        required_ram: 1,
        depends_on: [root.id],
      });
      const grandchild = await createDeployment(ctx, t.developer2, {
        organization_id: t.org.id,
        required_cpu: 1,
        required_ram: 1,
        depends_on: [child.id, root.id],
      });
      const res = await http()
        .post(`/deployments/${root.id}/fail`)
        .set(t.developer.auth)
        .send({ reason: 'OOM killed' })
        .expect(200);
      expect(res.body).toMatchObject({ status: 'failed', failure_reason: 'OOM killed' });
      for (const id of [child.id, grandchild.id]) {
        const d = await http().get(`/deployments/${id}`).set(t.viewer.auth).expect(200);
        expect(d.body).toMatchObject({
          status: 'failed',
          failure_reason: 'dependency_failed',
          pending_reason: null,
        });
        const ev = await http().get(`/deployments/${id}/events`).set(t.viewer.auth).expect(200);
        expect((ev.body as object[]).at(-1)).toMatchObject({
          type: 'failed',
          from_status: 'pending',
          to_status: 'failed',
          code: 'dependency_failed',
        });
      }
      // Created on a failed dependency: failed at once, with its history.
      const late = await createDeployment(ctx, t.developer, {
        cluster_id: c.id,
        required_cpu: 1,
        required_ram: 1,
        depends_on: [root.id],
      });
      expect(late).toMatchObject({ status: 'failed', failure_reason: 'dependency_failed' });
      const ev = await http().get(`/deployments/${late.id}/events`).set(t.viewer.auth).expect(200);
      expect((ev.body as { type: string }[]).map((e) => e.type)).toEqual(['queued', 'failed']);
      expect(await available(c.id)).toEqual([8, 32, 2]);
    });

    it('should fail pending dependants when a dependency is cancelled', async () => {
      const c = await gpuCluster();
      const { blocker, d } = await pendingOn(c.id);
      await http().post(`/deployments/${blocker.id}/cancel`).set(t.admin.auth).expect(200);
      const got = await http().get(`/deployments/${d.id}`).set(t.viewer.auth).expect(200);
      expect(got.body).toMatchObject({ status: 'failed', failure_reason: 'dependency_failed' });
    });
  });

  describe('GET /deployments/:id/events', () => {
    it('should tell its history: queued → placed → completed', async () => {
      const c = await gpuCluster();
      const d = await runDeployment(ctx, t.developer, {
        cluster_id: c.id,
        required_cpu: 1,
        required_ram: 1,
      });
      await http().post(`/deployments/${d.id}/complete`).set(t.developer.auth).expect(200);
      const res = await http().get(`/deployments/${d.id}/events/`).set(t.viewer.auth).expect(200);
      expect(res.body).toEqual([
        expect.objectContaining({
          type: 'queued',
          from_status: null,
          to_status: 'pending',
          actor: 'user',
          actor_user_id: t.developer.id,
        }),
        expect.objectContaining({
          type: 'placed',
          from_status: 'pending',
          to_status: 'running',
          cluster_id: c.id,
        }),
        expect.objectContaining({
          type: 'completed',
          from_status: 'running',
          to_status: 'completed',
          actor: 'user',
          actor_user_id: t.developer.id,
        }),
      ]);
      const ids = (res.body as { id: number }[]).map((e) => e.id);
      expect([...ids].sort((a, b) => a - b)).toEqual(ids);
    });
  });

  describe('GET /deployments', () => {
    it('should filter and page with an opaque cursor, newest first', async () => {
      const org = await createOrg(ctx, t.admin);
      const c = await createCluster(ctx, t.admin, org.id, { total_cpu: 100, total_ram: 100 });
      const made: number[] = [];
      for (let i = 0; i < 5; i++) {
        made.push(
          (
            await createDeployment(ctx, t.admin, {
              cluster_id: c.id,
              required_cpu: 1,
              required_ram: 1,
            })
          ).id,
        );
      }
      const seen: number[] = [];
      let cursor: string | null = null;
      do {
        const q: string = `/deployments?organization_id=${org.id}&limit=2${cursor ? `&cursor=${cursor}` : ''}`;
        const res = await http().get(q).set(t.admin.auth).expect(200);
        expect(res.body.items.length).toBeLessThanOrEqual(2);
        seen.push(...(res.body.items as { id: number }[]).map((d) => d.id));
        cursor = res.body.next_cursor as string | null;
      } while (cursor);
      expect(seen).toEqual([...made].reverse());
      await http().post(`/deployments/${made[0]}/cancel`).set(t.admin.auth).expect(200);
      const cancelled = await http()
        .get(`/deployments/?status=cancelled&cluster_id=${c.id}`)
        .set(t.admin.auth)
        .expect(200);
      expect(cancelled.body).toEqual({
        items: [expect.objectContaining({ id: made[0] })],
        next_cursor: null,
      });
      await http().get('/deployments?status=bogus').set(t.admin.auth).expect(422);
      await http().get('/deployments?limit=201').set(t.admin.auth).expect(422);
      await http().get('/deployments?cursor=!!nope').set(t.admin.auth).expect(422);
    });
  });

  describe('GET /deployments/queue/metrics', () => {
    it('should report counts, priorities, waits, utilization and the scheduler', async () => {
      const org = await createOrg(ctx, t.admin);
      const c = await createCluster(ctx, t.admin, org.id, { total_cpu: 4, total_ram: 8 });
      const a = await runDeployment(ctx, t.admin, {
        cluster_id: c.id,
        required_cpu: 2,
        required_ram: 2,
        priority: 5,
      });
      await createDeployment(ctx, t.admin, {
        cluster_id: c.id,
        required_cpu: 1,
        required_ram: 1,
        priority: 7,
        depends_on: [a.id],
      });
      await createDeployment(ctx, t.admin, {
        cluster_id: c.id,
        required_cpu: 1,
        required_ram: 1,
        priority: 7,
        depends_on: [a.id],
      });
      const done = await runDeployment(ctx, t.admin, {
        cluster_id: c.id,
        required_cpu: 1,
        required_ram: 1,
      });
      await http().post(`/deployments/${done.id}/complete`).set(t.admin.auth).expect(200);
      const res = await http()
        .get(`/deployments/queue/metrics?organization_id=${org.id}`)
        .set(t.admin.auth)
        .expect(200);
      expect(res.body).toMatchObject({
        counts_by_status: { pending: 2, running: 1, completed: 1, failed: 0, cancelled: 0 },
        pending_by_priority: [{ priority: 7, count: 2 }],
        preemptions_total: 0,
        clusters: [
          {
            cluster_id: c.id,
            name: c.name,
            utilization: { ram: 0.25, cpu: 0.5, gpu: 0 },
            running: 1,
            pending: 2,
          },
        ],
        scheduler: { last_pass_at: expect.any(String) },
      });
      expect(res.body.scheduler.passes_last_hour).toBeGreaterThan(0);
      expect(res.body.oldest_pending_age_seconds).toBeGreaterThanOrEqual(0);
      expect(res.body.wait_time_seconds.samples).toBe(2);
      expect(res.body.wait_time_seconds.p50).toBeGreaterThanOrEqual(0);
      expect(res.body.wait_time_seconds.p99).toBeGreaterThanOrEqual(res.body.wait_time_seconds.p50);
      const byCluster = await http()
        .get(`/deployments/queue/metrics/?cluster_id=${c.id}`)
        .set(t.admin.auth)
        .expect(200);
      expect(byCluster.body.counts_by_status).toEqual(res.body.counts_by_status);
    });
  });

  describe('permissions', () => {
    it('should give a viewer 403 on every mutation and 200 on every read', async () => {
      const c = await gpuCluster();
      const d = await runDeployment(ctx, t.developer, {
        cluster_id: c.id,
        required_cpu: 1,
        required_ram: 1,
      });
      const p = await createDeployment(ctx, t.developer, {
        cluster_id: c.id,
        required_cpu: 1,
        required_ram: 1,
        depends_on: [d.id],
      });
      const v = t.viewer.auth;
      const body = {
        name: 'v',
        docker_image: 'nginx',
        cluster_id: c.id,
        required_cpu: 1,
        required_ram: 1,
      };
      const denied = [
        http().post('/deployments/').set(v).send(body),
        http().post(`/deployments/${p.id}/start`).set(v),
        http().post(`/deployments/${d.id}/complete`).set(v),
        http().post(`/deployments/${d.id}/fail`).set(v),
        http().post(`/deployments/${d.id}/cancel`).set(v),
      ];
      for (const req of denied) {
        const res = await req;
        expect(res.status).toBe(403);
        expect(res.body.code).toBe('organization/insufficient_role');
      }
      for (const path of [
        '/deployments/',
        `/deployments/${d.id}`,
        `/deployments/${d.id}/events`,
        '/deployments/queue/metrics',
        `/deployments/queue/metrics?organization_id=${t.org.id}`,
      ]) {
        await http().get(path).set(v).expect(200);
      }
      expect(await available(c.id)).toEqual([7, 31, 2]);
    });

    it('should stop a developer acting on another developer’s deployment while an admin can', async () => {
      const c = await gpuCluster();
      const d = await runDeployment(ctx, t.developer, {
        cluster_id: c.id,
        required_cpu: 1,
        required_ram: 1,
      });
      const p = await createDeployment(ctx, t.developer, {
        cluster_id: c.id,
        required_cpu: 1,
        required_ram: 1,
        depends_on: [d.id],
      });
      for (const path of [
        `/deployments/${p.id}/start`,
        `/deployments/${d.id}/complete`,
        `/deployments/${d.id}/fail`,
        `/deployments/${d.id}/cancel`,
      ]) {
        const res = await http().post(path).set(t.developer2.auth);
        expect(res.status).toBe(403);
        expect(res.body.code).toBe('deployment/not_owner');
      }
      await http().get(`/deployments/${d.id}`).set(t.developer2.auth).expect(200);
      await http().post(`/deployments/${d.id}/complete`).set(t.admin.auth).expect(200);
      const res = await http().post(`/deployments/${p.id}/cancel`).set(t.admin.auth).expect(200);
      expect(res.body.status).toBe('cancelled');
    });

    it('should give a member of another organization 404 everywhere and show them nothing', async () => {
      const c = await gpuCluster();
      const d = await runDeployment(ctx, t.developer, {
        cluster_id: c.id,
        required_cpu: 1,
        required_ram: 1,
      });
      const o = t.outsider.auth;
      const create = await http()
        .post('/deployments/')
        .set(o)
        .send({
          name: 'x',
          docker_image: 'nginx',
          cluster_id: c.id,
          required_cpu: 1,
          required_ram: 1,
        })
        .expect(404);
      expect(create.body.code).toBe('cluster/not_found');
      const byOrg = await http()
        .post('/deployments/')
        .set(o)
        .send({
          name: 'x',
          docker_image: 'nginx',
          organization_id: t.org.id,
          required_cpu: 1,
          required_ram: 1,
        })
        .expect(404);
      expect(byOrg.body.code).toBe('organization/not_found');
      for (const req of [
        http().get(`/deployments/${d.id}`).set(o),
        http().get(`/deployments/${d.id}/events`).set(o),
        http().post(`/deployments/${d.id}/start`).set(o),
        http().post(`/deployments/${d.id}/complete`).set(o),
        http().post(`/deployments/${d.id}/fail`).set(o),
        http().post(`/deployments/${d.id}/cancel`).set(o),
      ]) {
        const res = await req;
        expect(res.status).toBe(404);
        expect(res.body.code).toBe('deployment/not_found');
      }
      await http().get(`/deployments?organization_id=${t.org.id}`).set(o).expect(404);
      await http().get(`/deployments?cluster_id=${c.id}`).set(o).expect(404);
      await http().get(`/deployments/queue/metrics?organization_id=${t.org.id}`).set(o).expect(404);
      await http().get(`/deployments/queue/metrics?cluster_id=${c.id}`).set(o).expect(404);
      const list = await http().get('/deployments/').set(o).expect(200);
      expect(
        (list.body.items as { organization_id: number }[]).every(
          (x) => x.organization_id === t.otherOrg.id,
        ),
      ).toBe(true);
      const metrics = await http().get('/deployments/queue/metrics').set(o).expect(200);
      expect(
        (metrics.body.clusters as { cluster_id: number }[]).map((x) => x.cluster_id),
      ).not.toContain(c.id);
      // Their metrics count only their own organisation's deployments.
      const ownRunning = (list.body.items as { status: string }[]).filter(
        (x) => x.status === 'running',
      );
      expect(metrics.body.counts_by_status.running).toBe(ownRunning.length);
      const still = await http().get(`/deployments/${d.id}`).set(t.developer.auth).expect(200);
      expect(still.body.status).toBe('running');
    });

    it('should return 404 deployment/not_found for missing or malformed ids', async () => {
      for (const path of ['/deployments/999999', '/deployments/abc', '/deployments/0/events']) {
        const res = await http().get(path).set(t.admin.auth).expect(404);
        expect(res.body.code).toBe('deployment/not_found');
      }
    });
  });
});
