import { IsOptional, IsString, MaxLength } from 'class-validator';

export class FailDeploymentDto {
  /** Why it failed (stored as `failure_reason`). Default `failed`. */
  @IsOptional()
  @IsString()
  @MaxLength(500)
  reason?: string;
}
