import { Prisma } from '../generated/prisma/client';
import { isForeignKeyViolation } from './deployments.service';

const known = (code: string, meta?: Record<string, unknown>, message = 'failed') =>
  new Prisma.PrismaClientKnownRequestError(message, { code, clientVersion: 'test', meta });

describe('isForeignKeyViolation', () => {
  it.each([
    ['a Prisma query (P2003)', known('P2003'), true],
    [
      'a raw query, adapter kind',
      known('P2010', { driverAdapterError: { cause: { kind: 'ForeignKeyConstraintViolation' } } }),
      true,
    ],
    [
      'a raw query, SQLSTATE 23503',
      known('P2010', { driverAdapterError: { cause: { kind: 'postgres', code: '23503' } } }),
      true,
    ],
    [
      'a raw query, by its message',
      known('P2010', undefined, 'violates foreign key constraint "deployments_cluster_id_fkey"'),
      true,
    ],
    [
      'another raw query failure',
      known('P2010', { driverAdapterError: { cause: { kind: 'postgres', code: '42601' } } }),
      false,
    ],
    ['another Prisma code', known('P2002'), false],
    ['a plain error', new Error('foreign key'), false],
  ])('should classify %s', (_, err, expected) => {
    expect(isForeignKeyViolation(err)).toBe(expected);
  });
});
