import {
  ArrayMaxSize,
  IsArray,
  IsInt,
  IsOptional,
  IsString,
  Length,
  Matches,
  Max,
  Min,
} from 'class-validator';
import { IsResourceAmount } from '../../common/units';
import { IsImageReference } from '../docker-image';
import { HAS_VISIBLE_CHARACTER } from '../../common/validation/visible';

const MAX_ID = 2_147_483_647;

export class CreateDeploymentDto {
  /** 1–100 characters. */
  @IsString()
  @Length(1, 100)
  @Matches(HAS_VISIBLE_CHARACTER, { message: 'name must contain a visible character' })
  name!: string;

  /** An image reference `name[:tag][@digest]`, e.g. `ghcr.io/acme/api:1.4`. */
  @IsString()
  @IsImageReference()
  docker_image!: string;

  /** Pins the deployment to this cluster. Without it, `organization_id` is required. */
  @IsOptional()
  @IsInt()
  @Min(1)
  @Max(MAX_ID)
  cluster_id?: number;

  /** The organization whose clusters the scheduler may pick from (unpinned work). */
  @IsOptional()
  @IsInt()
  @Min(1)
  @Max(MAX_ID)
  organization_id?: number;

  /** −1000..1000, larger is more important. Default 0. */
  @IsOptional()
  @IsInt()
  @Min(-1000)
  @Max(1000)
  priority?: number;

  /** RAM in GiB (≥ 0, up to 3 decimals). */
  @IsResourceAmount()
  required_ram!: number;

  /** CPU in cores (≥ 0, up to 3 decimals). */
  @IsResourceAmount()
  required_cpu!: number;

  /** GPU devices (≥ 0, up to 3 decimals). Default 0. */
  @IsOptional()
  @IsResourceAmount()
  required_gpu?: number;

  /** Ids of deployments of the same organization that must complete first (at most 100). */
  @IsOptional()
  @IsArray()
  @ArrayMaxSize(100)
  @IsInt({ each: true })
  @Min(1, { each: true })
  @Max(MAX_ID, { each: true })
  depends_on?: number[];
}
