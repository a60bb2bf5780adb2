import { IsInt, IsString, Length, Matches, Max, Min } from 'class-validator';
import { IsResourceAmount } from '../../common/units';
import { HAS_VISIBLE_CHARACTER } from '../../common/validation/visible';

export class CreateClusterDto {
  /** 1–100 characters; unique within the organization. */
  @IsString()
  @Length(1, 100)
  @Matches(HAS_VISIBLE_CHARACTER, { message: 'name must contain a visible character' })
  name!: string;

  /** The organization that owns the cluster; the caller must be its admin. */
  @IsInt()
  @Min(1)
  @Max(2_147_483_647)
  organization_id!: number;

  /** RAM in GiB (> 0, up to 3 decimals). */
  @IsResourceAmount({ positive: true })
  total_ram!: number;

  /** CPU in cores (> 0, up to 3 decimals). */
  @IsResourceAmount({ positive: true })
  total_cpu!: number;

  /** GPU devices (≥ 0, up to 3 decimals). */
  @IsResourceAmount()
  total_gpu!: number;
}
