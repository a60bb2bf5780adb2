import { Transform } from 'class-transformer';
import { IsString, Length, Matches } from 'class-validator';
import { HAS_VISIBLE_CHARACTER } from '../../common/validation/visible';

export class CreateOrganizationDto {
  /** Unique across the service; surrounding whitespace is trimmed, then 1–100 characters. */
  @Transform(({ value }: { value: unknown }) => (typeof value === 'string' ? value.trim() : value))
  @IsString()
  @Length(1, 100, { message: 'name must be 1 to 100 characters long (after trimming)' })
  @Matches(HAS_VISIBLE_CHARACTER, { message: 'name must contain a visible character' })
  name!: string;
}
