import { Injectable, type ArgumentMetadata, type PipeTransform } from '@nestjs/common';
import { AppError, type FieldError } from '../errors/app-error';

/** Deeper than any body of the API (the deepest is 2); bounds every recursive step after this. */
export const MAX_INPUT_DEPTH = 16;

/**
 * C0 controls and DEL (PostgreSQL cannot store NUL in text; the rest corrupt logs and terminals),
 * and the bidirectional overrides/isolates that make a name read differently than it sorts.
 */
// eslint-disable-next-line no-control-regex
const FORBIDDEN = /[\u0000-\u001f\u007f\u202a-\u202e\u2066-\u2069]/;

/**
 * Runs before validation on every body, query and path parameter: a string with a control
 * character, or a structure nested past MAX_INPUT_DEPTH, is a 422 before any other code (a
 * validator, a Prisma query) sees it.
 */
@Injectable()
export class HostileInputPipe implements PipeTransform {
  transform(value: unknown, metadata: ArgumentMetadata): unknown {
    if (metadata.type === 'custom') return value;
    const errors: FieldError[] = [];
    inspect(value, metadata.type === 'param' ? (metadata.data ?? 'path') : '', 0, errors);
    if (errors.length > 0) {
      throw new AppError(422, 'request/validation_failed', 'The request is invalid', {
        errors: errors.slice(0, 20),
      });
    }
    return value;
  }
}

function inspect(value: unknown, field: string, depth: number, errors: FieldError[]): void {
  if (errors.length >= 20) return;
  if (typeof value === 'string') {
    if (FORBIDDEN.test(value)) {
      errors.push({
        field: field || 'body',
        message: `${field || 'value'} must not contain control or bidirectional-override characters`,
      });
    }
    return;
  }
  if (value === null || typeof value !== 'object') return;
  if (depth >= MAX_INPUT_DEPTH) {
    errors.push({
      field: field || 'body',
      message: `nested deeper than ${MAX_INPUT_DEPTH} levels`,
    });
    return;
  }
  const entries = Array.isArray(value)
    ? value.map((v, i) => [String(i), v] as const)
    : Object.entries(value);
  for (const [k, v] of entries) {
    const path = field ? `${field}.${k}` : k;
    if (FORBIDDEN.test(k)) {
      errors.push({ field: 'body', message: 'a field name contains control characters' });
      return;
    }
    inspect(v, path, depth + 1, errors);
  }
}
