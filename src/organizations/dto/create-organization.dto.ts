import { Transform } from 'class-transformer';
import { IsString, Length } from 'class-validator';

export class CreateOrganizationDto {
  /** Unique across the service; surrounding whitespace is trimmed, then 1–100 characters. */
  @Transform(({ value }: { value: unknown }) => (typeof value === 'string' ? value.trim() : value))
  @IsString()
  @Length(1, 100, { message: 'name must be 1 to 100 characters long (after trimming)' })
  name!: string;
}
