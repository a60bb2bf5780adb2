import { Body, Controller, Delete, Get, HttpCode, Param, Patch, Post, Query } from '@nestjs/common';
import {
  ApiConflictResponse,
  ApiCreatedResponse,
  ApiForbiddenResponse,
  ApiNoContentResponse,
  ApiNotFoundResponse,
  ApiOkResponse,
  ApiTags,
  ApiUnprocessableEntityResponse,
} from '@nestjs/swagger';
import { CurrentUser, type AuthUser } from '../common/auth/current-user.decorator';
import { Idempotent } from '../common/idempotency/idempotency.interceptor';
import { ParseIdPipe } from '../common/pipes/parse-id.pipe';
import { ClustersService } from './clusters.service';
import { ClusterResourcesDto } from './dto/cluster-resources.dto';
import { ClusterDto } from './dto/cluster.dto';
import { CreateClusterDto } from './dto/create-cluster.dto';
import { ListClustersQueryDto } from './dto/list-clusters-query.dto';
import { UpdateClusterDto } from './dto/update-cluster.dto';

const NOT_FOUND = '`cluster/not_found`: no such cluster, or not in one of your organizations';
const ADMIN_ONLY = '`organization/insufficient_role`: only admins manage clusters';

@ApiTags('clusters')
@Controller('clusters')
export class ClustersController {
  constructor(private readonly clusters: ClustersService) {}

  /** Create a cluster (admin of the organization); it starts fully available. */
  @Post()
  @HttpCode(201)
  @Idempotent()
  @ApiCreatedResponse({ type: ClusterDto })
  @ApiForbiddenResponse({ description: ADMIN_ONLY })
  @ApiNotFoundResponse({ description: '`organization/not_found`: not one of yours' })
  @ApiConflictResponse({ description: '`cluster/name_taken`: name used in the organization' })
  @ApiUnprocessableEntityResponse({ description: '`request/validation_failed` with field errors' })
  async create(@CurrentUser() user: AuthUser, @Body() dto: CreateClusterDto): Promise<ClusterDto> {
    return ClusterDto.from(await this.clusters.create(user.id, dto));
  }

  /** Clusters of your organizations (or of one of them). */
  @Get()
  @ApiOkResponse({ type: [ClusterDto] })
  @ApiNotFoundResponse({ description: '`organization/not_found`: not one of yours' })
  async list(
    @CurrentUser() user: AuthUser,
    @Query() q: ListClustersQueryDto,
  ): Promise<ClusterDto[]> {
    return (await this.clusters.list(user.id, q.organization_id)).map((c) => ClusterDto.from(c));
  }

  /** One cluster. */
  @Get(':id')
  @ApiOkResponse({ type: ClusterDto })
  @ApiNotFoundResponse({ description: NOT_FOUND })
  async get(
    @CurrentUser() user: AuthUser,
    @Param('id', new ParseIdPipe('cluster')) id: number,
  ): Promise<ClusterDto> {
    return ClusterDto.from(await this.clusters.get(user.id, id));
  }

  /** Totals, availability, allocation, utilization and deployment counts. */
  @Get(':id/resources')
  @ApiOkResponse({ type: ClusterResourcesDto })
  @ApiNotFoundResponse({ description: NOT_FOUND })
  async resources(
    @CurrentUser() user: AuthUser,
    @Param('id', new ParseIdPipe('cluster')) id: number,
  ): Promise<ClusterResourcesDto> {
    const { cluster, counts } = await this.clusters.resources(user.id, id);
    return ClusterResourcesDto.from(cluster, counts);
  }

  /** Rename and/or resize (admin). */
  @Patch(':id')
  @ApiOkResponse({ type: ClusterDto })
  @ApiForbiddenResponse({ description: ADMIN_ONLY })
  @ApiNotFoundResponse({ description: NOT_FOUND })
  @ApiConflictResponse({
    description:
      '`cluster/shrink_below_allocated`: below what running deployments hold; `cluster/name_taken`',
  })
  @ApiUnprocessableEntityResponse({ description: '`request/validation_failed` with field errors' })
  async update(
    @CurrentUser() user: AuthUser,
    @Param('id', new ParseIdPipe('cluster')) id: number,
    @Body() dto: UpdateClusterDto,
  ): Promise<ClusterDto> {
    return ClusterDto.from(await this.clusters.update(user.id, id, dto));
  }

  /** Delete (admin); refused while deployments run on it or wait pinned to it. */
  @Delete(':id')
  @HttpCode(204)
  @ApiNoContentResponse({ description: 'Deleted' })
  @ApiForbiddenResponse({ description: ADMIN_ONLY })
  @ApiNotFoundResponse({ description: NOT_FOUND })
  @ApiConflictResponse({ description: '`cluster/has_active_deployments`' })
  async remove(
    @CurrentUser() user: AuthUser,
    @Param('id', new ParseIdPipe('cluster')) id: number,
  ): Promise<void> {
    await this.clusters.remove(user.id, id);
  }
}
