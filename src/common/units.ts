import { applyDecorators } from '@nestjs/common';
import { Max, Min, ValidateBy } from 'class-validator';

/**
 * Resource amounts travel as units (ram GiB, cpu cores, gpu devices) with up to 3 decimals and are
 * stored as integer milli-units, so accounting never drifts. These two functions are the only
 * conversions between the two.
 */
export const MILLI = 1000;
export const MAX_UNITS = 1_000_000;

/** Units → milli-units. Throws on anything the validators should have rejected already. */
export function toMilli(units: number): number {
  if (!Number.isFinite(units) || units < 0 || units > MAX_UNITS) {
    throw new RangeError(`resource amount out of range: ${units}`);
  }
  const milli = Math.round(units * MILLI);
  if (Math.abs(units * MILLI - milli) > 1e-6) {
    throw new RangeError(`resource amount has more than 3 decimals: ${units}`);
  }
  return milli;
}

/** A finite number that is a whole number of milli-units (1e-7 is not; 0.001 is). */
export function hasAtMost3Decimals(v: number): boolean {
  if (!Number.isFinite(v) || Math.abs(v) > MAX_UNITS * 10) return false;
  return Math.abs(v * MILLI - Math.round(v * MILLI)) <= 1e-6;
}

/** Milli-units → units (exact for every integer milli amount: n/1000 is the closest double). */
export const fromMilli = (milli: number): number => milli / MILLI;

/**
 * A wire resource amount: a finite JSON number with at most 3 decimals, from `min` (0, or just
 * above 0 when `positive`) to 1,000,000 units.
 */
export function IsResourceAmount(options: { positive?: boolean } = {}): PropertyDecorator {
  const min = options.positive ? 0.001 : 0;
  return applyDecorators(
    // Not IsNumber({ maxDecimalPlaces }): it splits String(value) on '.', and 1e-7 has none
    // (a TypeError, so a 500). Whether units convert exactly to milli-units is the real rule.
    ValidateBy(
      {
        name: 'isResourceAmount',
        validator: { validate: (v: unknown) => typeof v === 'number' && hasAtMost3Decimals(v) },
      },
      { message: '$property must be a number with at most 3 decimals' },
    ),
    Min(min, {
      message: options.positive ? '$property must be greater than 0' : '$property must be ≥ 0',
    }),
    Max(MAX_UNITS, { message: `$property must be at most ${MAX_UNITS}` }),
  );
}
