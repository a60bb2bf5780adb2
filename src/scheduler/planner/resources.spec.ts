import { fits } from './resources';

describe('fits', () => {
  it.each([
    [{ ram: 1, cpu: 1, gpu: 0 }, { ram: 1, cpu: 1, gpu: 0 }, true],
    [{ ram: 2, cpu: 1, gpu: 0 }, { ram: 1, cpu: 1, gpu: 0 }, false],
    [{ ram: 1, cpu: 1, gpu: 1 }, { ram: 5, cpu: 5, gpu: 0 }, false],
  ])('should tell whether %o fits into %o', (req, free, expected) => {
    expect(fits(req, free)).toBe(expected);
  });
});
