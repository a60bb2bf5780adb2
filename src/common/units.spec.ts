import { validate } from 'class-validator';
import { plainToInstance } from 'class-transformer';
import { fromMilli, IsResourceAmount, toMilli } from './units';

class Amounts {
  @IsResourceAmount({ positive: true })
  cpu!: number;

  @IsResourceAmount()
  gpu!: number;
}

const errorsFor = async (plain: object) =>
  (await validate(plainToInstance(Amounts, plain))).map((e) => e.property);

describe(toMilli.name, () => {
  it.each([
    [0, 0],
    [0.1, 100],
    [0.001, 1],
    [1.005, 1005],
    [4.35, 4350],
    [999_999.999, 999_999_999],
    [1_000_000, 1_000_000_000],
  ])('should convert %p units to %p milli-units', (units, milli) => {
    expect(toMilli(units)).toBe(milli);
    expect(fromMilli(milli)).toBe(units);
  });

  it.each([0.0001, -1, Infinity, NaN, 1_000_000.001])('should throw for %p', (units) => {
    expect(() => toMilli(units)).toThrow(RangeError);
  });

  it('should not drift over many allocate/free cycles (integers, not floats)', () => {
    let available = toMilli(8);
    for (let i = 0; i < 1_000_000; i++) available -= toMilli(0.1);
    for (let i = 0; i < 1_000_000; i++) available += toMilli(0.1);
    expect(fromMilli(available)).toBe(8);
  });
});

describe(IsResourceAmount.name, () => {
  it('should accept up to 3 decimals within range', async () => {
    expect(await errorsFor({ cpu: 0.001, gpu: 0 })).toEqual([]);
    expect(await errorsFor({ cpu: 1_000_000, gpu: 2.5 })).toEqual([]);
  });

  it.each([
    [{ cpu: 0, gpu: 0 }, ['cpu']],
    [{ cpu: 1.0001, gpu: -0.5 }, ['cpu', 'gpu']],
    [{ cpu: '4', gpu: null }, ['cpu', 'gpu']],
    [{ cpu: 1_000_000.5, gpu: 0 }, ['cpu']],
  ])('should reject %j', async (plain, fields) => {
    expect(await errorsFor(plain)).toEqual(fields);
  });
});
