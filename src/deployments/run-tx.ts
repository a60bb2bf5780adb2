import { Prisma } from '../generated/prisma/client';
import type { PrismaService, Tx } from '../prisma/prisma.service';

const RETRIES = 3;

/**
 * An interactive transaction with room to queue behind a burst of others, retried when
 * PostgreSQL aborts it as a deadlock victim or a serialization failure (safe: nothing committed).
 */
export async function runTx<T>(prisma: PrismaService, fn: (tx: Tx) => Promise<T>): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await prisma.$transaction(fn, { maxWait: 10_000, timeout: 20_000 });
    } catch (err) {
      if (attempt >= RETRIES || !isRetryable(err)) throw err;
    }
  }
}

function isRetryable(err: unknown): boolean {
  if (err instanceof Prisma.PrismaClientKnownRequestError && err.code === 'P2034') return true;
  const text = err instanceof Error ? err.message : '';
  return /deadlock detected|could not serialize access|40P01|40001/.test(text);
}
