import { startApp, type TestContext } from '../support/app';
import { addMember, createCluster, createOrg, createUser } from '../support/factories';

/**
 * The request path reads identity and role from the database on every request (issue 9 made
 * those reads one raw query each, and caches neither): a role changed or a member removed
 * through one replica binds on the very next request to any other replica.
 */
describe('Role changes across replicas (e2e)', () => {
  let a: TestContext;
  let b: TestContext;

  beforeAll(async () => {
    a = await startApp({ env: { SCHEDULER_WORKER: 'false' } });
    b = await startApp({
      env: { SCHEDULER_WORKER: 'false' },
      databaseUrl: a.databaseUrl,
      redisPrefix: a.env.REDIS_PREFIX,
    });
  });
  afterAll(async () => {
    await b.close();
    await a.close();
  });

  it('should refuse on replica B, at once, a role demoted and then a member removed on replica A', async () => {
    const admin = await createUser(a, 'admin');
    const dev = await createUser(a, 'dev');
    const org = await createOrg(a, admin);
    await addMember(a, org, admin, dev, 'developer');
    const cluster = await createCluster(a, admin, org.id, { total_ram: 8, total_cpu: 4 });
    const body = {
      name: 'web',
      docker_image: 'nginx:1.27',
      cluster_id: cluster.id,
      required_ram: 1,
      required_cpu: 1,
    };
    // Warm replica B's path for this user and organisation (anything it might remember).
    await b.http().post('/deployments/').set(dev.auth).send(body).expect(201);
    await b.http().get(`/clusters/${cluster.id}/resources`).set(dev.auth).expect(200);
    await b.http().get(`/organizations/${org.id}/members`).set(dev.auth).expect(200);

    await a
      .http()
      .patch(`/organizations/${org.id}/members/${dev.id}`)
      .set(admin.auth)
      .send({ role: 'viewer' })
      .expect(200);
    const demoted = await b.http().post('/deployments/').set(dev.auth).send(body).expect(403);
    expect(demoted.body.code).toBe('organization/insufficient_role');
    await b.http().get(`/clusters/${cluster.id}/resources`).set(dev.auth).expect(200);

    await a.http().delete(`/organizations/${org.id}/members/${dev.id}`).set(admin.auth).expect(204);
    await b.http().get(`/clusters/${cluster.id}/resources`).set(dev.auth).expect(404);
    await b.http().get(`/organizations/${org.id}/members`).set(dev.auth).expect(404);
    await b.http().post('/deployments/').set(dev.auth).send(body).expect(404);
    const me = await b.http().get('/users/me').set(dev.auth).expect(200);
    expect(me.body).toMatchObject({ id: dev.id, username: dev.username, is_active: true });
  });
});
