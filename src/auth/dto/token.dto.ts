import { IsIn, IsOptional, IsString, MaxLength, MinLength } from 'class-validator';

/** OAuth2 password grant (form-encoded, or JSON with the same fields). */
export class TokenRequestDto {
  /** Username or email. */
  @IsString()
  @MinLength(1)
  @MaxLength(254)
  username!: string;

  @IsString()
  @MinLength(1)
  @MaxLength(1024)
  password!: string;

  /** Optional; only `password` is supported. */
  @IsOptional()
  @IsIn(['password'])
  grant_type?: string;

  @IsOptional()
  @IsString()
  scope?: string;
}

export class TokenDto {
  access_token!: string;
  /** Always `bearer`. */
  token_type!: 'bearer';
  /** Lifetime in seconds. */
  expires_in!: number;
}
