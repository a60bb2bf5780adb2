import { DynamicModule, Module } from '@nestjs/common';
import { APP_GUARD } from '@nestjs/core';
import { AuthModule } from './auth/auth.module';
import { ClustersModule } from './clusters/clusters.module';
import { JwtAuthGuard } from './common/auth/jwt-auth.guard';
import { OrgRoleGuard } from './common/auth/org-role.guard';
import { RedisModule } from './common/redis/redis.module';
import { BerthThrottlerGuard } from './common/throttling/throttle.guard';
import { ThrottlingModule } from './common/throttling/throttling.module';
import { ConfigModule } from './config/config.module';
import type { AppConfig } from './config/configuration';
import { DeploymentsModule } from './deployments/deployments.module';
import { EventsModule } from './events/events.module';
import { HealthModule } from './health/health.module';
import { MetricsModule } from './metrics/metrics.module';
import { OrganizationsModule } from './organizations/organizations.module';
import { PrismaModule } from './prisma/prisma.module';
import { SchedulerModule } from './scheduler/scheduler.module';
import { UsersModule } from './users/users.module';

@Module({})
export class AppModule {
  static register(config: AppConfig): DynamicModule {
    return {
      module: AppModule,
      imports: [
        ConfigModule.forRoot(config),
        PrismaModule,
        RedisModule,
        ThrottlingModule,
        HealthModule,
        UsersModule,
        AuthModule,
        OrganizationsModule,
        ClustersModule,
        DeploymentsModule,
        SchedulerModule.register(config),
        MetricsModule,
        EventsModule,
      ],
      providers: [
        // Order matters: authenticate, then throttle (per user when known), then check roles.
        { provide: APP_GUARD, useClass: JwtAuthGuard },
        { provide: APP_GUARD, useClass: BerthThrottlerGuard },
        { provide: APP_GUARD, useClass: OrgRoleGuard },
      ],
    };
  }
}
