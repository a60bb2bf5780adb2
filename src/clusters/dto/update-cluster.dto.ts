import { IsString, Length, Matches, ValidateIf } from 'class-validator';
import { IsResourceAmount } from '../../common/units';
import { HAS_VISIBLE_CHARACTER } from '../../common/validation/visible';

/** Omitted means unchanged; null is invalid (a cluster always has a name and totals). */
const IsOptional = () => ValidateIf((_: unknown, value: unknown) => value !== undefined);

/** Rename and/or resize; omitted fields keep their value. */
export class UpdateClusterDto {
  @IsOptional()
  @IsString()
  @Length(1, 100)
  @Matches(HAS_VISIBLE_CHARACTER, { message: 'name must contain a visible character' })
  name?: string;

  /** New total RAM in GiB; may not drop below what running deployments hold. */
  @IsOptional()
  @IsResourceAmount({ positive: true })
  total_ram?: number;

  /** New total CPU in cores; may not drop below what running deployments hold. */
  @IsOptional()
  @IsResourceAmount({ positive: true })
  total_cpu?: number;

  /** New GPU count; may not drop below what running deployments hold. */
  @IsOptional()
  @IsResourceAmount()
  total_gpu?: number;
}
