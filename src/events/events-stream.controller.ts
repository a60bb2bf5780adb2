import { Controller, Get, Headers, Query, Res } from '@nestjs/common';
import {
  ApiHeader,
  ApiNotFoundResponse,
  ApiOkResponse,
  ApiProduces,
  ApiTags,
  ApiTooManyRequestsResponse,
  ApiUnprocessableEntityResponse,
} from '@nestjs/swagger';
import type { FastifyReply } from 'fastify';
import { CurrentUser, type AuthUser } from '../common/auth/current-user.decorator';
import { DeploymentEventStreams } from './deployment-event-stream.service';
import { EventsStreamQueryDto } from './dto/events-stream-query.dto';

/**
 * Declared as its own static path: the router prefers it over `GET /deployments/:id…`, so it is
 * never read as a deployment id.
 */
@ApiTags('deployments')
@Controller('deployments/events')
export class EventsStreamController {
  constructor(private readonly streams: DeploymentEventStreams) {}

  /**
   * Live deployment state changes (Server-Sent Events) of your organizations: `queued`,
   * `placed`, `preempted`, `completed`, `failed`, `cancelled`. Each event is
   * `id: <event id>`, `event: <type>`, `data: <JSON>`; reconnect with `Last-Event-ID` (or
   * `?last_event_id=`) to replay what came after it. Without it the stream starts with new
   * events only. A `: keep-alive` comment is sent every 15 s.
   */
  @Get('stream')
  @ApiProduces('text/event-stream')
  @ApiHeader({
    name: 'Last-Event-ID',
    required: false,
    description: 'Resume after this event id (sent by EventSource on reconnect)',
  })
  @ApiOkResponse({
    description:
      'An endless `text/event-stream`; each `data:` is a DeploymentStreamEventDto as JSON, e.g.\n\n' +
      '```\nid: 42\nevent: placed\ndata: {"id":42,"type":"placed","deployment_id":7,…}\n```',
    content: { 'text/event-stream': { schema: { type: 'string' } } },
  })
  @ApiNotFoundResponse({ description: '`organization/not_found`, `cluster/not_found`: not yours' })
  @ApiUnprocessableEntityResponse({
    description: '`request/validation_failed`: a bad filter or Last-Event-ID',
  })
  @ApiTooManyRequestsResponse({
    description:
      '`rate_limit/too_many_streams`: this user (SSE_MAX_STREAMS_PER_USER, default 10) or this ' +
      'instance (SSE_MAX_STREAMS, default 1000) has as many open streams as allowed; see Retry-After',
  })
  async stream(
    @CurrentUser() user: AuthUser,
    @Query() q: EventsStreamQueryDto,
    @Headers('last-event-id') lastEventId: string | undefined,
    @Res() reply: FastifyReply,
  ): Promise<void> {
    await this.streams.open(user.id, q, lastEventId, reply);
  }
}
