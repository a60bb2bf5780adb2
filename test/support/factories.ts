import { randomBytes } from 'node:crypto';
import type { TestContext } from './app';

export interface TestUser {
  id: number;
  username: string;
  email: string;
  password: string;
  token: string;
  auth: { Authorization: string };
}

const uniq = (): string => randomBytes(4).toString('hex');

export async function createUser(ctx: TestContext, prefix = 'user'): Promise<TestUser> {
  const username = `${prefix}_${uniq()}`;
  const email = `${username}@example.com`;
  const password = `pw-${uniq()}-${uniq()}`;
  const created = await ctx.http().post('/users/').send({ email, username, password }).expect(201);
  const token = await ctx
    .http()
    .post('/token')
    .type('form')
    .send({ username, password })
    .expect(200);
  const accessToken = (token.body as { access_token: string }).access_token;
  return {
    id: (created.body as { id: number }).id,
    username,
    email,
    password,
    token: accessToken,
    auth: { Authorization: `Bearer ${accessToken}` },
  };
}

export interface TestOrg {
  id: number;
  name: string;
  invite_code: string;
}

export async function createOrg(
  ctx: TestContext,
  admin: TestUser,
  name = `org-${uniq()}`,
): Promise<TestOrg> {
  const res = await ctx.http().post('/organizations/').set(admin.auth).send({ name }).expect(201);
  return res.body as TestOrg;
}

/** Joins by invite (as developer), then lets the admin set the wanted role. */
export async function addMember(
  ctx: TestContext,
  org: TestOrg,
  admin: TestUser,
  user: TestUser,
  role: 'admin' | 'developer' | 'viewer' = 'developer',
): Promise<void> {
  await ctx.http().post(`/organizations/${org.invite_code}/join`).set(user.auth).expect(201);
  if (role !== 'developer') {
    await ctx
      .http()
      .patch(`/organizations/${org.id}/members/${user.id}`)
      .set(admin.auth)
      .send({ role })
      .expect(200);
  }
}

/** An organisation with one member of each role and an outsider in an organisation of their own. */
export async function createTeam(ctx: TestContext) {
  const admin = await createUser(ctx, 'admin');
  const developer = await createUser(ctx, 'dev');
  const developer2 = await createUser(ctx, 'dev2');
  const viewer = await createUser(ctx, 'viewer');
  const outsider = await createUser(ctx, 'outsider');
  const org = await createOrg(ctx, admin);
  await addMember(ctx, org, admin, developer, 'developer');
  await addMember(ctx, org, admin, developer2, 'developer');
  await addMember(ctx, org, admin, viewer, 'viewer');
  const otherOrg = await createOrg(ctx, outsider);
  return { admin, developer, developer2, viewer, outsider, org, otherOrg };
}

export interface ClusterInput {
  name?: string;
  total_ram: number;
  total_cpu: number;
  total_gpu?: number;
}

export async function createCluster(
  ctx: TestContext,
  admin: TestUser,
  organizationId: number,
  input: ClusterInput,
): Promise<{ id: number } & Record<string, unknown>> {
  const res = await ctx
    .http()
    .post('/clusters/')
    .set(admin.auth)
    .send({ name: `cluster-${uniq()}`, total_gpu: 0, organization_id: organizationId, ...input })
    .expect(201);
  return res.body as { id: number } & Record<string, unknown>;
}

export interface DeploymentInput {
  name?: string;
  docker_image?: string;
  cluster_id?: number;
  organization_id?: number;
  priority?: number;
  required_ram: number;
  required_cpu: number;
  required_gpu?: number;
  depends_on?: number[];
}

export async function createDeployment(
  ctx: TestContext,
  user: TestUser,
  input: DeploymentInput,
): Promise<{ id: number; status: string } & Record<string, unknown>> {
  const res = await ctx
    .http()
    .post('/deployments/')
    .set(user.auth)
    .send({ name: `dep-${uniq()}`, docker_image: 'nginx:1.27', ...input })
    .expect(201);
  return res.body as { id: number; status: string } & Record<string, unknown>;
}
