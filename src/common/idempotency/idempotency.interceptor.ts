import { createHash } from 'node:crypto';
import {
  applyDecorators,
  CallHandler,
  ExecutionContext,
  Injectable,
  NestInterceptor,
  UseInterceptors,
} from '@nestjs/common';
import { HTTP_CODE_METADATA } from '@nestjs/common/constants';
import { ApiHeader, ApiUnprocessableEntityResponse } from '@nestjs/swagger';
import type { FastifyRequest } from 'fastify';
import { from, Observable } from 'rxjs';
import type { AuthUser } from '../auth/current-user.decorator';
import { unprocessable } from '../errors/app-error';
import { PrismaService } from '../../prisma/prisma.service';
import { idempotencyScope, type IdempotencyScope } from './idempotency.scope';

export const IDEMPOTENCY_HEADER = 'idempotency-key';
const KEY_PATTERN = /^[\x20-\x7E]{1,255}$/;
const KEEP_HOURS = 24;
/** How long a replay waits for the first request's response to be recorded. */
const REPLAY_WAIT_MS = 3_000;

interface KeyRow {
  fingerprint: string;
  resource_id: number | null;
  response_status: number | null;
  response_body: unknown;
}

/**
 * Idempotency-Key (contract §1): a repeat with the same key and body returns the first response
 * and changes nothing; the same key with another body is 422 `request/idempotency_key_reused`.
 * Keys are per user and kept 24 h. The key row is written by the first transaction of the
 * request (runTx → claimIdempotencyKey), so the change and its key commit together; the
 * response is added right after. A duplicate racing the first blocks on the unique index and
 * then replays the winner's response. A route whose change runs outside runTx (start: a
 * scheduler pass) records its key after the change; repeating it is safe anyway.
 */
@Injectable()
export class IdempotencyInterceptor implements NestInterceptor {
  constructor(private readonly prisma: PrismaService) {}

  intercept(context: ExecutionContext, next: CallHandler): Observable<unknown> {
    const req = context.switchToHttp().getRequest<FastifyRequest & { user?: AuthUser }>();
    const raw = req.headers[IDEMPOTENCY_HEADER];
    if (raw === undefined || !req.user) return next.handle();
    const key = Array.isArray(raw) ? raw.join(',') : raw;
    if (!KEY_PATTERN.test(key)) {
      throw unprocessable('request/invalid_idempotency_key', 'The request is invalid', [
        { field: 'Idempotency-Key', message: 'must be 1 to 255 printable ASCII characters' },
      ]);
    }
    const scope: IdempotencyScope = {
      userId: req.user.id,
      key,
      fingerprint: fingerprint(req),
      status:
        (Reflect.getMetadata(HTTP_CODE_METADATA, context.getHandler()) as number | undefined) ??
        201,
      committed: false,
    };
    return from(this.handle(scope, req, next));
  }

  private async handle(scope: IdempotencyScope, req: FastifyRequest, next: CallHandler) {
    const earlier = await this.find(scope, true);
    if (earlier) return this.replay(scope, earlier, req);
    let result: unknown;
    try {
      result = await new Promise((resolve, reject) => {
        idempotencyScope.run(scope, () => {
          next.handle().subscribe({ next: resolve, error: reject });
        });
      });
    } catch (err) {
      // Lost the race to a request with the same key (unique violation), or failed after the
      // change committed: either way the key now answers with the first response.
      const winner = await this.findAfterFailure(scope);
      if (winner) return this.replay(scope, winner, req);
      throw err;
    }
    await this.record(scope, result).catch(() => undefined);
    return result;
  }

  /**
   * The lookup after a failure runs while the database may be failing too; if it cannot be
   * answered, the honest reply is 503 (the lookup's own error), never the request's error: a
   * 409 for the unique violation of a lost race would tell the client to stop retrying.
   */
  private async findAfterFailure(scope: IdempotencyScope): Promise<KeyRow | undefined> {
    for (let attempt = 1; ; attempt++) {
      try {
        return await this.find(scope, false);
      } catch (lookupErr) {
        if (attempt >= 3) throw lookupErr;
        await new Promise((r) => setTimeout(r, 100 * attempt));
      }
    }
  }

  private async find(scope: IdempotencyScope, prune: boolean): Promise<KeyRow | undefined> {
    if (prune) {
      // Expired keys are free again; now and then clear out every expired one.
      await this.prisma.$executeRaw`
        DELETE FROM idempotency_keys WHERE user_id = ${scope.userId} AND key = ${scope.key}
           AND created_at < now() - make_interval(hours => ${KEEP_HOURS})`;
      if (Math.random() < 0.01) {
        await this.prisma.$executeRaw`
          DELETE FROM idempotency_keys WHERE created_at < now() - make_interval(hours => ${KEEP_HOURS})`;
      }
    }
    const rows = await this.prisma.$queryRaw<KeyRow[]>`
      SELECT fingerprint, resource_id, response_status, response_body FROM idempotency_keys
       WHERE user_id = ${scope.userId} AND key = ${scope.key}`;
    return rows[0];
  }

  private async replay(scope: IdempotencyScope, row: KeyRow, req: FastifyRequest) {
    if (row.fingerprint !== scope.fingerprint) {
      throw unprocessable(
        'request/idempotency_key_reused',
        'This Idempotency-Key was used with a different request; use a new key for a new request',
      );
    }
    // The first request committed; its response may still be on its way into the row.
    for (let waited = 0; row.response_body === null && waited < REPLAY_WAIT_MS; waited += 100) {
      await new Promise((r) => setTimeout(r, 100));
      row = (await this.find(scope, false)) ?? row;
    }
    if (row.response_body !== null) return row.response_body;
    // Its response was never recorded (the first request failed after committing): the id
    // of what it created is all that is known for sure.
    const id = row.resource_id ?? idFromPath(req);
    return id === undefined ? {} : { id };
  }

  private async record(scope: IdempotencyScope, result: unknown): Promise<void> {
    const body = JSON.stringify(result ?? null);
    if (scope.committed) {
      await this.prisma.$executeRaw`
        UPDATE idempotency_keys SET response_status = ${scope.status}, response_body = ${body}::jsonb
         WHERE user_id = ${scope.userId} AND key = ${scope.key}`;
      return;
    }
    await this.prisma.$executeRaw`
      INSERT INTO idempotency_keys (user_id, key, fingerprint, response_status, response_body)
      VALUES (${scope.userId}, ${scope.key}, ${scope.fingerprint}, ${scope.status}, ${body}::jsonb)
      ON CONFLICT (user_id, key) DO NOTHING`;
  }
}

/** Marks a route as accepting Idempotency-Key, and documents the header. */
export const Idempotent = () =>
  applyDecorators(
    UseInterceptors(IdempotencyInterceptor),
    ApiHeader({
      name: 'Idempotency-Key',
      required: false,
      description:
        'Makes a retry safe: 1–255 printable characters, scoped to you, kept 24 h. A repeat with the same key and body returns the first response (same status and id) and changes nothing; the same key with a different body is 422 `request/idempotency_key_reused`.',
    }),
    ApiUnprocessableEntityResponse({
      description:
        '`request/idempotency_key_reused` (same key, different request), `request/invalid_idempotency_key`',
    }),
  );

function fingerprint(req: FastifyRequest): string {
  const path = (req.url.split('?')[0] ?? '').replace(/\/+$/, '');
  return createHash('sha256')
    .update(`${req.method} ${path}\n${stableJson(req.body ?? null)}`)
    .digest('hex');
}

function stableJson(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(stableJson).join(',')}]`;
  if (v && typeof v === 'object') {
    const o = v as Record<string, unknown>;
    return `{${Object.keys(o)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${stableJson(o[k])}`)
      .join(',')}}`;
  }
  return JSON.stringify(v) ?? 'null';
}

function idFromPath(req: FastifyRequest): number | undefined {
  const m = /\/(\d+)\/[a-z]+\/?$/.exec(req.url.split('?')[0] ?? '');
  return m ? Number(m[1]) : undefined;
}
