import { Global, Module } from '@nestjs/common';
import { OrganizationsModule } from '../organizations/organizations.module';
import { DeploymentEventStreams } from './deployment-event-stream.service';
import { EventNotifier } from './event-notifier.service';
import { EventsStreamController } from './events-stream.controller';

/**
 * Live deployment events (SSE). Global so that every writer of deployment events (deployments,
 * scheduler) can call EventNotifier.notify() after its commit without a module cycle.
 */
@Global()
@Module({
  imports: [OrganizationsModule],
  controllers: [EventsStreamController],
  providers: [EventNotifier, DeploymentEventStreams],
  exports: [EventNotifier],
})
export class EventsModule {}
