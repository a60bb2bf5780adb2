import { startApp, type TestContext } from '../support/app';
import { runDeployment } from '../support/deployments';
import { createCluster, createDeployment, createOrg, createTeam } from '../support/factories';

// Hooks too: under a parallel run, booting the app and hashing passwords can pass 5 s.

type Team = Awaited<ReturnType<typeof createTeam>>;

describe('ClustersController (e2e)', () => {
  let ctx: TestContext;
  let t: Team;

  beforeAll(async () => {
    ctx = await startApp();
    t = await createTeam(ctx);
  });
  afterAll(() => ctx.close());

  const http = () => ctx.http();

  describe('POST /clusters', () => {
    it('should create a fully available cluster for an admin', async () => {
      const res = await http()
        .post('/clusters')
        .set(t.admin.auth)
        .send({
          name: 'gpu-a',
          organization_id: t.org.id,
          total_ram: 32,
          total_cpu: 8,
          total_gpu: 2,
        })
        .expect(201);
      expect(res.body).toMatchObject({
        name: 'gpu-a',
        organization_id: t.org.id,
        total_ram: 32,
        total_cpu: 8,
        total_gpu: 2,
        available_ram: 32,
        available_cpu: 8,
        available_gpu: 2,
      });
      expect(typeof res.body.id).toBe('number');
      expect(new Date(res.body.created_at).toISOString()).toBe(res.body.created_at);
      expect(res.body.updated_at).toBeDefined();
    });

    it('should keep fractional amounts exact', async () => {
      const c = await createCluster(ctx, t.admin, t.org.id, {
        total_ram: 0.125,
        total_cpu: 1.001,
        total_gpu: 0.5,
      });
      expect(c).toMatchObject({ total_ram: 0.125, total_cpu: 1.001, available_gpu: 0.5 });
    });

    it('should return 409 cluster/name_taken for a duplicate name in the organization only', async () => {
      await createCluster(ctx, t.admin, t.org.id, { name: 'dup', total_ram: 1, total_cpu: 1 });
      const res = await http()
        .post('/clusters/')
        .set(t.admin.auth)
        .send({ name: 'dup', organization_id: t.org.id, total_ram: 1, total_cpu: 1, total_gpu: 0 })
        .expect(409);
      expect(res.body.code).toBe('cluster/name_taken');
      await createCluster(ctx, t.outsider, t.otherOrg.id, {
        name: 'dup',
        total_ram: 1,
        total_cpu: 1,
      });
    });

    it.each([
      ['zero cpu', { total_cpu: 0 }],
      ['zero ram', { total_ram: 0 }],
      ['negative gpu', { total_gpu: -1 }],
      ['four decimals', { total_cpu: 1.0001 }],
      ['a string amount', { total_ram: '4' }],
      ['more than a million units', { total_ram: 1_000_001 }],
      ['an empty name', { name: '' }],
      ['no organization', { organization_id: undefined }],
    ])('should return 422 request/validation_failed for %s', async (_what, patch) => {
      const body = {
        name: 'x',
        organization_id: t.org.id,
        total_ram: 4,
        total_cpu: 4,
        total_gpu: 0,
        ...patch,
      };
      const res = await http().post('/clusters/').set(t.admin.auth).send(body).expect(422);
      expect(res.body.code).toBe('request/validation_failed');
      expect(res.body.errors.length).toBeGreaterThan(0);
    });

    it('should return 403 for a developer and a viewer, 404 for a non-member', async () => {
      const body = {
        name: 'nope',
        organization_id: t.org.id,
        total_ram: 1,
        total_cpu: 1,
        total_gpu: 0,
      };
      for (const u of [t.developer, t.viewer]) {
        const res = await http().post('/clusters/').set(u.auth).send(body).expect(403);
        expect(res.body.code).toBe('organization/insufficient_role');
      }
      const res = await http().post('/clusters/').set(t.outsider.auth).send(body).expect(404);
      expect(res.body.code).toBe('organization/not_found');
    });

    it('should return 401 without a token', async () => {
      await http().post('/clusters/').send({}).expect(401);
    });
  });

  describe('GET /clusters', () => {
    it('should list only the caller’s organizations’ clusters', async () => {
      const mine = await createCluster(ctx, t.admin, t.org.id, { total_ram: 2, total_cpu: 2 });
      const theirs = await createCluster(ctx, t.outsider, t.otherOrg.id, {
        total_ram: 2,
        total_cpu: 2,
      });
      const res = await http().get('/clusters').set(t.viewer.auth).expect(200);
      const ids = (res.body as { id: number }[]).map((c) => c.id);
      expect(ids).toContain(mine.id);
      expect(ids).not.toContain(theirs.id);
      const filtered = await http()
        .get(`/clusters/?organization_id=${t.org.id}`)
        .set(t.viewer.auth)
        .expect(200);
      expect(
        (filtered.body as { organization_id: number }[]).every(
          (c) => c.organization_id === t.org.id,
        ),
      ).toBe(true);
    });

    it('should return 404 organization/not_found when filtering by a foreign organization', async () => {
      const res = await http()
        .get(`/clusters?organization_id=${t.otherOrg.id}`)
        .set(t.viewer.auth)
        .expect(404);
      expect(res.body.code).toBe('organization/not_found');
    });
  });

  describe('GET /clusters/:id and /resources', () => {
    it('should report resources and change nothing when read repeatedly', async () => {
      const c = await createCluster(ctx, t.admin, t.org.id, {
        total_ram: 32,
        total_cpu: 8,
        total_gpu: 2,
      });
      const first = await http().get(`/clusters/${c.id}/resources`).set(t.viewer.auth).expect(200);
      expect(first.body).toEqual({
        cluster_id: c.id,
        total_ram: 32,
        total_cpu: 8,
        total_gpu: 2,
        available_ram: 32,
        available_cpu: 8,
        available_gpu: 2,
        allocated_ram: 0,
        allocated_cpu: 0,
        allocated_gpu: 0,
        utilization: { ram: 0, cpu: 0, gpu: 0 },
        running_deployments: 0,
        pending_deployments: 0,
      });
      for (let i = 0; i < 5; i++) {
        const again = await http()
          .get(`/clusters/${c.id}/resources/`)
          .set(t.viewer.auth)
          .expect(200);
        expect(again.body).toEqual(first.body);
      }
      const got = await http().get(`/clusters/${c.id}`).set(t.viewer.auth).expect(200);
      expect(got.body).toMatchObject({ id: c.id, available_cpu: 8 });
    });

    it('should report gpu utilization 0 for a cluster without gpu', async () => {
      const c = await createCluster(ctx, t.admin, t.org.id, {
        total_ram: 4,
        total_cpu: 4,
        total_gpu: 0,
      });
      await runDeployment(ctx, t.developer, {
        cluster_id: c.id,
        required_ram: 1,
        required_cpu: 3,
      });
      const res = await http().get(`/clusters/${c.id}/resources`).set(t.viewer.auth).expect(200);
      expect(res.body.utilization).toEqual({ ram: 0.25, cpu: 0.75, gpu: 0 });
      expect(res.body.running_deployments).toBe(1);
      expect(res.body.allocated_cpu).toBe(3);
    });

    it('should return 404 cluster/not_found for a foreign, missing or malformed id', async () => {
      const theirs = await createCluster(ctx, t.outsider, t.otherOrg.id, {
        total_ram: 1,
        total_cpu: 1,
      });
      for (const path of [
        `/clusters/${theirs.id}`,
        `/clusters/${theirs.id}/resources`,
        '/clusters/999999',
        '/clusters/abc',
        '/clusters/99999999999',
      ]) {
        const res = await http().get(path).set(t.admin.auth).expect(404);
        expect(res.body.code).toBe('cluster/not_found');
      }
    });
  });

  describe('PATCH /clusters/:id', () => {
    it('should rename and resize, keeping what is allocated', async () => {
      const c = await createCluster(ctx, t.admin, t.org.id, { total_ram: 8, total_cpu: 4 });
      await runDeployment(ctx, t.developer, {
        cluster_id: c.id,
        required_ram: 2,
        required_cpu: 1,
      });
      const res = await http()
        .patch(`/clusters/${c.id}`)
        .set(t.admin.auth)
        .send({ name: 'renamed', total_cpu: 6, total_gpu: 1 })
        .expect(200);
      expect(res.body).toMatchObject({
        name: 'renamed',
        total_cpu: 6,
        available_cpu: 5,
        total_ram: 8,
        available_ram: 6,
        total_gpu: 1,
        available_gpu: 1,
      });
      const shrunk = await http()
        .patch(`/clusters/${c.id}/`)
        .set(t.admin.auth)
        .send({ total_cpu: 1 })
        .expect(200);
      expect(shrunk.body).toMatchObject({ total_cpu: 1, available_cpu: 0 });
    });

    it('should return 409 cluster/shrink_below_allocated and change nothing', async () => {
      const c = await createCluster(ctx, t.admin, t.org.id, { total_ram: 8, total_cpu: 4 });
      await runDeployment(ctx, t.developer, {
        cluster_id: c.id,
        required_ram: 2,
        required_cpu: 3,
      });
      const res = await http()
        .patch(`/clusters/${c.id}`)
        .set(t.admin.auth)
        .send({ total_cpu: 2.999, name: 'never' })
        .expect(409);
      expect(res.body.code).toBe('cluster/shrink_below_allocated');
      const after = await http().get(`/clusters/${c.id}`).set(t.admin.auth).expect(200);
      expect(after.body).toMatchObject({ name: c.name, total_cpu: 4, available_cpu: 1 });
    });

    it('should return 409 cluster/name_taken when renaming onto another cluster’s name', async () => {
      const a = await createCluster(ctx, t.admin, t.org.id, { total_ram: 1, total_cpu: 1 });
      const b = await createCluster(ctx, t.admin, t.org.id, { total_ram: 1, total_cpu: 1 });
      const res = await http()
        .patch(`/clusters/${b.id}`)
        .set(t.admin.auth)
        .send({ name: a.name })
        .expect(409);
      expect(res.body.code).toBe('cluster/name_taken');
    });

    it('should return 422 for invalid totals', async () => {
      const c = await createCluster(ctx, t.admin, t.org.id, { total_ram: 1, total_cpu: 1 });
      await http().patch(`/clusters/${c.id}`).set(t.admin.auth).send({ total_cpu: 0 }).expect(422);
      await http()
        .patch(`/clusters/${c.id}`)
        .set(t.admin.auth)
        .send({ total_ram: 0.0001 })
        .expect(422);
      for (const body of [{ name: null }, { total_cpu: null }, { total_gpu: -0.001 }]) {
        const res = await http()
          .patch(`/clusters/${c.id}`)
          .set(t.admin.auth)
          .send(body)
          .expect(422);
        expect(res.body.code).toBe('request/validation_failed');
      }
    });
  });

  describe('DELETE /clusters/:id', () => {
    it('should return 409 while a deployment runs or waits pinned, then 204', async () => {
      const c = await createCluster(ctx, t.admin, t.org.id, { total_ram: 8, total_cpu: 4 });
      const running = await runDeployment(ctx, t.developer, {
        cluster_id: c.id,
        required_ram: 1,
        required_cpu: 1,
      });
      const res = await http().delete(`/clusters/${c.id}`).set(t.admin.auth).expect(409);
      expect(res.body.code).toBe('cluster/has_active_deployments');
      await http().post(`/deployments/${running.id}/complete`).set(t.developer.auth).expect(200);
      const pending = await createDeployment(ctx, t.developer, {
        cluster_id: c.id,
        required_ram: 1,
        required_cpu: 1,
      });
      await http().delete(`/clusters/${c.id}`).set(t.admin.auth).expect(409);
      await http().post(`/deployments/${pending.id}/cancel`).set(t.developer.auth).expect(200);
      const gone = await http().delete(`/clusters/${c.id}/`).set(t.admin.auth).expect(204);
      expect(gone.text).toBe('');
      await http().get(`/clusters/${c.id}`).set(t.admin.auth).expect(404);
      // History survives the cluster.
      const old = await http().get(`/deployments/${running.id}`).set(t.admin.auth).expect(200);
      expect(old.body).toMatchObject({ status: 'completed', cluster_id: null });
    });
  });

  describe('permissions', () => {
    it('should give a viewer 403 on every mutation and 200 on every read', async () => {
      const c = await createCluster(ctx, t.admin, t.org.id, { total_ram: 2, total_cpu: 2 });
      const create = {
        name: 'v',
        organization_id: t.org.id,
        total_ram: 1,
        total_cpu: 1,
        total_gpu: 0,
      };
      await http().post('/clusters/').set(t.viewer.auth).send(create).expect(403);
      await http().patch(`/clusters/${c.id}`).set(t.viewer.auth).send({ name: 'v2' }).expect(403);
      await http().delete(`/clusters/${c.id}`).set(t.viewer.auth).expect(403);
      await http()
        .patch(`/clusters/${c.id}`)
        .set(t.developer.auth)
        .send({ name: 'v2' })
        .expect(403);
      await http().delete(`/clusters/${c.id}`).set(t.developer.auth).expect(403);
      await http().get('/clusters/').set(t.viewer.auth).expect(200);
      await http().get(`/clusters/${c.id}`).set(t.viewer.auth).expect(200);
      await http().get(`/clusters/${c.id}/resources`).set(t.viewer.auth).expect(200);
    });

    it('should give a member of another organization 404 on every route of this one', async () => {
      const c = await createCluster(ctx, t.admin, t.org.id, { total_ram: 2, total_cpu: 2 });
      const o = t.outsider.auth;
      const expect404 = async (p: Promise<{ status: number; body: { code: string } }>) => {
        const res = await p;
        expect(res.status).toBe(404);
        expect(res.body.code).toBe('cluster/not_found');
      };
      await expect404(http().get(`/clusters/${c.id}`).set(o));
      await expect404(http().get(`/clusters/${c.id}/resources`).set(o));
      await expect404(http().patch(`/clusters/${c.id}`).set(o).send({ name: 'x' }));
      await expect404(http().delete(`/clusters/${c.id}`).set(o));
      const list = await http().get('/clusters').set(o).expect(200);
      expect((list.body as { id: number }[]).map((x) => x.id)).not.toContain(c.id);
      // The cluster still exists, unchanged.
      await http().get(`/clusters/${c.id}`).set(t.admin.auth).expect(200);
    });

    it('should let an admin of one organization manage only its clusters', async () => {
      const second = await createOrg(ctx, t.developer);
      const c = await createCluster(ctx, t.developer, second.id, { total_ram: 1, total_cpu: 1 });
      await http().patch(`/clusters/${c.id}`).set(t.admin.auth).send({ name: 'x' }).expect(404);
      await http()
        .patch(`/clusters/${c.id}`)
        .set(t.developer.auth)
        .send({ name: 'mine' })
        .expect(200);
    });
  });
});
