import { Body, Controller, Get, HttpCode, Param, Post, Query } from '@nestjs/common';
import {
  ApiConflictResponse,
  ApiCreatedResponse,
  ApiForbiddenResponse,
  ApiNotFoundResponse,
  ApiOperation,
  ApiOkResponse,
  ApiTags,
  ApiUnprocessableEntityResponse,
} from '@nestjs/swagger';
import { CurrentUser, type AuthUser } from '../common/auth/current-user.decorator';
import { Idempotent } from '../common/idempotency/idempotency.interceptor';
import { ParseIdPipe } from '../common/pipes/parse-id.pipe';
import { DeploymentActionsService } from './deployment-actions.service';
import { DeploymentPlanService } from './deployment-plan.service';
import { DeploymentsService } from './deployments.service';
import { CreateDeploymentDto } from './dto/create-deployment.dto';
import { DeploymentPlanDto } from './dto/deployment-plan.dto';
import { DeploymentDto, DeploymentEventDto, DeploymentPageDto } from './dto/deployment.dto';
import { FailDeploymentDto } from './dto/fail-deployment.dto';
import { ListDeploymentsQueryDto, QueueMetricsQueryDto } from './dto/list-deployments-query.dto';
import { QueueMetricsDto } from './dto/queue-metrics.dto';
import { QueueMetricsService } from './queue-metrics.service';

const NOT_FOUND = '`deployment/not_found`: no such deployment, or not in one of your organizations';
const FORBIDDEN =
  '`organization/insufficient_role` (viewer) or `deployment/not_owner` (a developer acting on another’s deployment)';
const CREATE_DESCRIPTION = [
  'Placement is decided before the response, so the 201 body is the outcome, not a promise:',
  '',
  '- `running` (with `cluster_id`): it was placed at once. A deployment without dependencies that fits free room,',
  '  with nothing of equal or higher effective priority waiting and no other waiting work that could run, is',
  '  started in the create’s own transaction on the cluster the scheduler’s scorer picks (the same cluster a full',
  '  scheduling pass would pick); anything else runs the organisation’s pass before answering, which may also',
  '  start it, evicting lower-priority work (contract §4).',
  '- `pending` with `pending_code` and `pending_reason`: it waits (no room, higher-priority work ahead,',
  '  dependencies). The scheduler starts it later; follow `GET /deployments/{id}` or the event stream.',
].join('\n');
const ILLEGAL = '`deployment/illegal_transition`: not allowed from the current status';

@ApiTags('deployments')
@Controller('deployments')
export class DeploymentsController {
  constructor(
    private readonly deployments: DeploymentsService,
    private readonly actions: DeploymentActionsService,
    private readonly queue: QueueMetricsService,
    private readonly dryRun: DeploymentPlanService,
  ) {}

  /** Queue a deployment (developer or admin). Pinned with `cluster_id`, else by `organization_id`. */
  @Post()
  @HttpCode(201)
  @Idempotent()
  @ApiOperation({ description: CREATE_DESCRIPTION })
  @ApiCreatedResponse({
    type: DeploymentDto,
    description:
      'The deployment as committed: `running` with its `cluster_id` when it was placed at once, else `pending` with `pending_code` / `pending_reason`.',
  })
  @ApiForbiddenResponse({ description: '`organization/insufficient_role`: viewers cannot create' })
  @ApiNotFoundResponse({
    description: '`cluster/not_found` or `organization/not_found`: not one of yours',
  })
  @ApiUnprocessableEntityResponse({
    description:
      '`request/validation_failed`, `deployment/exceeds_cluster_capacity` (can never fit), `deployment/invalid_dependency`',
  })
  async create(
    @CurrentUser() user: AuthUser,
    @Body() dto: CreateDeploymentDto,
  ): Promise<DeploymentDto> {
    return DeploymentDto.from(await this.deployments.create(user.id, dto));
  }

  /** Dry run of a create: what would happen if it were submitted now. Changes nothing. */
  // Same body, roles and 4xx as POST /deployments/; declared before the `:id` routes.
  @Post('plan')
  @HttpCode(200)
  @ApiOkResponse({
    type: DeploymentPlanDto,
    examples: {
      runs: {
        summary: 'It would start at once, evicting lower-priority work',
        value: {
          would_run: true,
          cluster_id: 3,
          preempts: [{ id: 41, name: 'nightly-batch', priority: -10 }],
          pending_reason: null,
          queue_position: null,
        },
      },
      waits: {
        summary: 'It would wait',
        value: {
          would_run: false,
          cluster_id: null,
          preempts: [],
          pending_reason: {
            code: 'insufficient_resources',
            message: 'insufficient cpu: needs 16, 6 free on cluster 3',
          },
          queue_position: 4,
        },
      },
    },
  })
  @ApiForbiddenResponse({ description: '`organization/insufficient_role`: viewers cannot create' })
  @ApiNotFoundResponse({
    description: '`cluster/not_found` or `organization/not_found`: not one of yours',
  })
  @ApiUnprocessableEntityResponse({
    description:
      '`request/validation_failed`, `deployment/exceeds_cluster_capacity` (can never fit), `deployment/invalid_dependency`',
  })
  plan(
    @CurrentUser() user: AuthUser,
    @Body() dto: CreateDeploymentDto,
  ): Promise<DeploymentPlanDto> {
    return this.dryRun.plan(user.id, dto);
  }

  /** Deployments of your organizations, newest first, cursor-paginated. */
  @Get()
  @ApiOkResponse({ type: DeploymentPageDto })
  @ApiNotFoundResponse({ description: '`organization/not_found`, `cluster/not_found`: not yours' })
  @ApiUnprocessableEntityResponse({
    description: '`request/validation_failed` (bad filter or cursor)',
  })
  async list(
    @CurrentUser() user: AuthUser,
    @Query() q: ListDeploymentsQueryDto,
  ): Promise<DeploymentPageDto> {
    const page = await this.deployments.list(user.id, q);
    return { items: page.items.map((d) => DeploymentDto.from(d)), next_cursor: page.next_cursor };
  }

  /** Queue health: counts, pending by priority, wait percentiles, utilization, scheduler passes. */
  @Get('queue/metrics')
  @ApiOkResponse({ type: QueueMetricsDto })
  @ApiNotFoundResponse({ description: '`organization/not_found`, `cluster/not_found`: not yours' })
  metrics(
    @CurrentUser() user: AuthUser,
    @Query() q: QueueMetricsQueryDto,
  ): Promise<QueueMetricsDto> {
    return this.queue.metrics(user.id, q);
  }

  /** One deployment. */
  @Get(':id')
  @ApiOkResponse({ type: DeploymentDto })
  @ApiNotFoundResponse({ description: NOT_FOUND })
  async get(
    @CurrentUser() user: AuthUser,
    @Param('id', new ParseIdPipe('deployment')) id: number,
  ): Promise<DeploymentDto> {
    return DeploymentDto.from(await this.deployments.get(user.id, id));
  }

  /** Its history, oldest first: queued, placed, preempted, completed, failed, cancelled. */
  @Get(':id/events')
  @ApiOkResponse({ type: [DeploymentEventDto] })
  @ApiNotFoundResponse({ description: NOT_FOUND })
  async events(
    @CurrentUser() user: AuthUser,
    @Param('id', new ParseIdPipe('deployment')) id: number,
  ): Promise<DeploymentEventDto[]> {
    return (await this.deployments.events(user.id, id)).map((e) => DeploymentEventDto.from(e));
  }

  /** Place a pending deployment now, if the scheduling rules allow it. */
  @Post(':id/start')
  @HttpCode(200)
  @Idempotent()
  @ApiOkResponse({ type: DeploymentDto, description: 'Now running' })
  @ApiForbiddenResponse({ description: FORBIDDEN })
  @ApiNotFoundResponse({ description: NOT_FOUND })
  @ApiConflictResponse({
    description: `${ILLEGAL} (not pending); \`deployment/cannot_place\` with \`pending_reason\` {code, message}`,
  })
  async start(
    @CurrentUser() user: AuthUser,
    @Param('id', new ParseIdPipe('deployment')) id: number,
  ): Promise<DeploymentDto> {
    return DeploymentDto.from(await this.actions.start(user.id, id));
  }

  /** running → completed; frees its resources. */
  @Post(':id/complete')
  @HttpCode(200)
  @Idempotent()
  @ApiOkResponse({ type: DeploymentDto })
  @ApiForbiddenResponse({ description: FORBIDDEN })
  @ApiNotFoundResponse({ description: NOT_FOUND })
  @ApiConflictResponse({ description: `${ILLEGAL} (not running)` })
  async complete(
    @CurrentUser() user: AuthUser,
    @Param('id', new ParseIdPipe('deployment')) id: number,
  ): Promise<DeploymentDto> {
    return DeploymentDto.from(await this.actions.complete(user.id, id));
  }

  /** running → failed; frees its resources and fails its pending dependants. */
  @Post(':id/fail')
  @HttpCode(200)
  @Idempotent()
  @ApiOkResponse({ type: DeploymentDto })
  @ApiForbiddenResponse({ description: FORBIDDEN })
  @ApiNotFoundResponse({ description: NOT_FOUND })
  @ApiConflictResponse({ description: `${ILLEGAL} (not running)` })
  async fail(
    @CurrentUser() user: AuthUser,
    @Param('id', new ParseIdPipe('deployment')) id: number,
    @Body() dto: FailDeploymentDto,
  ): Promise<DeploymentDto> {
    return DeploymentDto.from(await this.actions.fail(user.id, id, dto.reason));
  }

  /** pending or running → cancelled; frees its resources and fails its pending dependants. */
  @Post(':id/cancel')
  @HttpCode(200)
  @Idempotent()
  @ApiOkResponse({ type: DeploymentDto })
  @ApiForbiddenResponse({ description: FORBIDDEN })
  @ApiNotFoundResponse({ description: NOT_FOUND })
  @ApiConflictResponse({ description: `${ILLEGAL} (already finished)` })
  async cancel(
    @CurrentUser() user: AuthUser,
    @Param('id', new ParseIdPipe('deployment')) id: number,
  ): Promise<DeploymentDto> {
    return DeploymentDto.from(await this.actions.cancel(user.id, id));
  }
}
