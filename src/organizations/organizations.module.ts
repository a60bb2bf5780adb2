import { Module } from '@nestjs/common';
import { MembersService } from './members.service';
import { MembershipsService } from './memberships.service';
import { OrganizationsController } from './organizations.controller';
import { OrganizationsService } from './organizations.service';

@Module({
  controllers: [OrganizationsController],
  providers: [OrganizationsService, MembersService, MembershipsService],
  exports: [MembershipsService],
})
export class OrganizationsModule {}
