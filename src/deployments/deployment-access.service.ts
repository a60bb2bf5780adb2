import { Injectable } from '@nestjs/common';
import { assertRole, type Role } from '../common/auth/roles';
import { AppError, notFound } from '../common/errors/app-error';
import { MembershipsService } from '../organizations/memberships.service';
import { PrismaService } from '../prisma/prisma.service';
import type { DeploymentWithDeps } from './dto/deployment.dto';

const withDeps = { dependsOn: { select: { dependsOnId: true } } } as const;

/**
 * Loads a deployment the way its caller may see it: another organization's is a 404, a viewer
 * may read, a developer may act on their own, an admin on every one of the organization.
 */
@Injectable()
export class DeploymentAccess {
  constructor(
    private readonly prisma: PrismaService,
    private readonly memberships: MembershipsService,
  ) {}

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

  private async load(
    userId: number,
    id: number,
  ): Promise<{ deployment: DeploymentWithDeps; role: Role }> {
    const deployment = await this.prisma.deployment.findUnique({
      where: { id },
      include: withDeps,
    });
    const role = deployment && (await this.memberships.getRole(userId, deployment.organizationId));
    if (!deployment || !role) throw notFound('deployment');
    return { deployment, role };
  }
}
