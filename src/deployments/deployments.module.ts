import { Module } from '@nestjs/common';
import { OrganizationsModule } from '../organizations/organizations.module';
import { DeploymentAccess } from './deployment-access.service';
import { DeploymentActionsService } from './deployment-actions.service';
import { DeploymentPlanService } from './deployment-plan.service';
import { DeploymentsController } from './deployments.controller';
import { DeploymentsService } from './deployments.service';
import { SchedulerPlacement } from '../scheduler/scheduler.placement';
import { LedgerModule } from './ledger.module';
import { PlacementPort } from './placement.port';
import { QueueMetricsService } from './queue-metrics.service';

@Module({
  imports: [OrganizationsModule, LedgerModule],
  controllers: [DeploymentsController],
  providers: [
    DeploymentAccess,
    DeploymentsService,
    DeploymentActionsService,
    DeploymentPlanService,
    QueueMetricsService,
    // The scheduler decides placement (SchedulerModule is global): start and every change
    // run the same organisation pass.
    { provide: PlacementPort, useExisting: SchedulerPlacement },
  ],
  exports: [PlacementPort, LedgerModule],
})
export class DeploymentsModule {}
