import { isTransientDbError } from '../common/errors/transient';
import {
  bindIdempotentResource,
  claimIdempotencyKey,
  type IdempotencyScope,
} from '../common/idempotency/idempotency.scope';
import { Prisma } from '../generated/prisma/client';
import type { PrismaService, Tx } from '../prisma/prisma.service';

const RETRIES = 3;

/**
 * An interactive transaction with room to queue behind a burst of others, retried when it
 * failed for a reason that rolled it back: a deadlock victim or serialization failure, a
 * transaction that could not start in time, or a connection lost before COMMIT (PostgreSQL
 * rolls back a transaction whose session ends). The one window this cannot tell apart is a
 * connection lost after COMMIT reached the server and before its answer; a create retried from
 * there is stopped by its Idempotency-Key row, and a state change by its conditional update.
 *
 * Inside a request that carries an Idempotency-Key, the first transaction also writes the key
 * row (and the id of what it created), so the change and its key commit together.
 */
export async function runTx<T>(prisma: PrismaService, fn: (tx: Tx) => Promise<T>): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      const claim: { scope?: IdempotencyScope } = {};
      const result = await prisma.$transaction(
        async (tx) => {
          claim.scope = await claimIdempotencyKey(tx);
          const out = await fn(tx);
          if (claim.scope) await bindIdempotentResource(tx, claim.scope, out);
          return out;
        },
        { maxWait: 10_000, timeout: 20_000 },
      );
      if (claim.scope) claim.scope.committed = true;
      return result;
    } catch (err) {
      if (attempt >= RETRIES || !isRetryable(err)) throw err;
      await new Promise((r) => setTimeout(r, 25 * attempt + Math.random() * 50));
    }
  }
}

function isRetryable(err: unknown): boolean {
  // Errors thrown by fn itself (AppError and friends) are answers, not failures.
  if (err instanceof Prisma.PrismaClientKnownRequestError && err.code === 'P2034') return true;
  return isTransientDbError(err);
}
