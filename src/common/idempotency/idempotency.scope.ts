import { AsyncLocalStorage } from 'node:async_hooks';
import type { Tx } from '../../prisma/prisma.service';

/** The Idempotency-Key of the request being handled, as the interceptor found it. */
export interface IdempotencyScope {
  userId: number;
  key: string;
  fingerprint: string;
  /** The route's success status (201 for creates, 200 for state changes). */
  status: number;
  /** Set once a transaction that wrote the key row committed. */
  committed: boolean;
}

export const idempotencyScope = new AsyncLocalStorage<IdempotencyScope>();

/**
 * Writes the request's key row inside `tx`, the first transaction of the request, so the key
 * commits (or rolls back) with the change. A concurrent request with the same key blocks on the
 * unique index until this one commits, then fails with a unique violation and replays this
 * one's response (IdempotencyInterceptor). Returns the scope to mark committed, or undefined.
 */
export async function claimIdempotencyKey(tx: Tx): Promise<IdempotencyScope | undefined> {
  const scope = idempotencyScope.getStore();
  if (!scope || scope.committed) return undefined;
  await tx.$executeRaw`
    INSERT INTO idempotency_keys (user_id, key, fingerprint)
    VALUES (${scope.userId}, ${scope.key}, ${scope.fingerprint})`;
  return scope;
}

/** Records what the transaction created (an id, or a row with one), for replays. */
export async function bindIdempotentResource(
  tx: Tx,
  scope: IdempotencyScope,
  result: unknown,
): Promise<void> {
  const id =
    typeof result === 'number'
      ? result
      : typeof (result as { id?: unknown } | null)?.id === 'number'
        ? (result as { id: number }).id
        : undefined;
  if (id === undefined) return;
  await tx.$executeRaw`
    UPDATE idempotency_keys SET resource_id = ${id}
     WHERE user_id = ${scope.userId} AND key = ${scope.key}`;
}
