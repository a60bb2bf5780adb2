import { Module } from '@nestjs/common';
import { DeploymentsModule } from '../deployments/deployments.module';
import { OrganizationsModule } from '../organizations/organizations.module';
import { ClustersController } from './clusters.controller';
import { ClustersService } from './clusters.service';

@Module({
  imports: [OrganizationsModule, DeploymentsModule],
  controllers: [ClustersController],
  providers: [ClustersService],
})
export class ClustersModule {}
