import { Transform } from 'class-transformer';
import { IsEmail, IsString, Length, Matches, MaxLength } from 'class-validator';

export class CreateUserDto {
  /** Normalised to lower case. */
  @Transform(({ value }: { value: unknown }) =>
    typeof value === 'string' ? value.trim().toLowerCase() : value,
  )
  @IsEmail({}, { message: 'email must be a valid email address' })
  @MaxLength(254)
  email!: string;

  /** 3–32 characters of A–Z, a–z, 0–9, `_`, `.`, `-`. */
  @IsString()
  @Matches(/^[A-Za-z0-9_.-]{3,32}$/, {
    message: 'username must be 3-32 characters of letters, digits, _ . or -',
  })
  username!: string;

  /** 8–128 characters. Stored only as an argon2id hash. */
  @IsString()
  @Length(8, 128, { message: 'password must be 8 to 128 characters long' })
  password!: string;
}
