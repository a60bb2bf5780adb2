import { Injectable } from '@nestjs/common';
import { assertRole, type Role } from '../common/auth/roles';
import { AppError, notFound } from '../common/errors/app-error';
import { PrismaService } from '../prisma/prisma.service';
import type { DeploymentWithDeps } from './dto/deployment.dto';

const withDeps = { dependsOn: { select: { dependsOnId: true } } } as const;

/**
 * Loads a deployment the way its caller may see it: another organization's is a 404, a viewer
 * may read, a developer may act on their own, an admin on every one of the organization.
 */
@Injectable()
export class DeploymentAccess {
  constructor(private readonly prisma: PrismaService) {}

  async readable(userId: number, id: number): Promise<DeploymentWithDeps> {
    return (await this.load(userId, id)).deployment;
  }

  async actionable(userId: number, id: number): Promise<DeploymentWithDeps> {
    const { deployment, role } = await this.load(userId, id);
    assertRole(role, 'developer');
    if (role === 'developer' && deployment.userId !== userId) {
      throw new AppError(
        403,
        'deployment/not_owner',
        'Developers may act only on their own deployments',
      );
    }
    return deployment;
  }

  /** The current row (after a change), no access check. */
  async reload(id: number): Promise<DeploymentWithDeps> {
    const d = await this.prisma.deployment.findUnique({ where: { id }, include: withDeps });
    if (!d) throw notFound('deployment');
    return d;
  }

  /**
   * One query for both checks: a missing id and another organisation's id do the same work and
   * answer the same 404, so response times do not reveal which ids exist.
   */
  private async load(
    userId: number,
    id: number,
  ): Promise<{ deployment: DeploymentWithDeps; role: Role }> {
    const found = await this.prisma.deployment.findFirst({
      where: { id, organization: { members: { some: { userId } } } },
      include: {
        ...withDeps,
        organization: { select: { members: { where: { userId }, select: { role: true } } } },
      },
    });
    const role = found?.organization.members[0]?.role;
    if (!found || !role) throw notFound('deployment');
    const { organization: _org, ...deployment } = found;
    return { deployment, role };
  }
}
