import { Module } from '@nestjs/common';
import { OrganizationsModule } from '../organizations/organizations.module';
import { DeploymentAccess } from './deployment-access.service';
import { DeploymentActionsService } from './deployment-actions.service';
import { DeploymentsController } from './deployments.controller';
import { DeploymentsService } from './deployments.service';
import { FitNowPlacement } from './fit-now.placement';
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
    QueueMetricsService,
    // Until the scheduler lands: place on request if it fits now.
    { provide: PlacementPort, useClass: FitNowPlacement },
  ],
  exports: [PlacementPort, LedgerModule],
})
export class DeploymentsModule {}
