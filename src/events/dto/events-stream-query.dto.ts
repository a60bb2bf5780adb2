import { Type } from 'class-transformer';
import { IsInt, IsOptional, Max, Min } from 'class-validator';

const MAX_ID = 2_147_483_647;

export class EventsStreamQueryDto {
  /** Only this organization's events (404 unless you are a member); default: all of yours. */
  @IsOptional()
  @Type(() => Number)
  @IsInt()
  @Min(1)
  @Max(MAX_ID)
  organization_id?: number;

  /** Only events on this cluster. */
  @IsOptional()
  @Type(() => Number)
  @IsInt()
  @Min(1)
  @Max(MAX_ID)
  cluster_id?: number;

  /** Resume after this event id (like the `Last-Event-ID` header, which takes precedence). */
  @IsOptional()
  @Type(() => Number)
  @IsInt()
  @Min(0)
  @Max(MAX_ID)
  last_event_id?: number;
}

/** The `data:` of one server-sent event (its `id:` is `id`, its `event:` is `type`). */
export class DeploymentStreamEventDto {
  id!: number;
  /** queued | placed | preempted | completed | failed | cancelled */
  type!: string;
  deployment_id!: number;
  deployment_name!: string;
  priority!: number;
  organization_id!: number;
  cluster_id!: number | null;
  from_status!: string | null;
  to_status!: string;
  /** `user` or `scheduler`. */
  actor!: string;
  actor_user_id!: number | null;
  code!: string | null;
  reason!: string | null;
  created_at!: Date;
}
