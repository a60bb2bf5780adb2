import type { TestContext } from './app';
import { createDeployment, type DeploymentInput, type TestUser } from './factories';

export type DeploymentBody = { id: number; status: string } & Record<string, unknown>;

/**
 * Creates a deployment and makes sure it runs: starts it when creation left it pending (a
 * scheduler may already have placed it on creation).
 */
export async function runDeployment(
  ctx: TestContext,
  user: TestUser,
  input: DeploymentInput,
): Promise<DeploymentBody> {
  const created = await createDeployment(ctx, user, input);
  if (created.status === 'running') return created;
  const res = await ctx.http().post(`/deployments/${created.id}/start`).set(user.auth).expect(200);
  const body = res.body as DeploymentBody;
  if (body.status !== 'running') throw new Error(`deployment ${body.id} is ${body.status}`);
  return body;
}
