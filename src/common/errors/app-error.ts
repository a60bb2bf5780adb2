import { HttpException } from '@nestjs/common';

export interface FieldError {
  field: string;
  message: string;
}

/**
 * The one exception services throw. `code` is stable and machine-readable
 * (`<area>/<what>`), documented in the OpenAPI spec; clients branch on it.
 */
export class AppError extends HttpException {
  constructor(
    readonly httpStatus: number,
    readonly code: string,
    readonly detail: string,
    readonly extra: { errors?: FieldError[]; headers?: Record<string, string> } & Record<
      string,
      unknown
    > = {},
  ) {
    super({ code, detail }, httpStatus);
  }
}

export const notFound = (what: string, code = `${what}/not_found`): AppError =>
  new AppError(404, code, `${what[0]?.toUpperCase() ?? ''}${what.slice(1)} not found`);

export const conflict = (
  code: string,
  detail: string,
  extra: Record<string, unknown> = {},
): AppError => new AppError(409, code, detail, extra);

export const unprocessable = (code: string, detail: string, errors?: FieldError[]): AppError =>
  new AppError(422, code, detail, errors ? { errors } : {});

export const forbidden = (
  detail = 'Your role in this organization does not allow this',
): AppError => new AppError(403, 'organization/insufficient_role', detail);

export const unauthorized = (
  code = 'auth/unauthenticated',
  detail = 'Missing, invalid or expired token',
): AppError => new AppError(401, code, detail);
