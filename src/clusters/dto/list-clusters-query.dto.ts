import { Type } from 'class-transformer';
import { IsInt, IsOptional, Max, Min } from 'class-validator';

export class ListClustersQueryDto {
  /** Only this organization's clusters (you must be a member). Default: all of yours. */
  @IsOptional()
  @Type(() => Number)
  @IsInt()
  @Min(1)
  @Max(2_147_483_647)
  organization_id?: number;
}
