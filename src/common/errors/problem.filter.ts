import { ArgumentsHost, Catch, ExceptionFilter, HttpException, Logger } from '@nestjs/common';
import { ThrottlerException } from '@nestjs/throttler';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { Prisma } from '../../generated/prisma/client';
import { AppError } from './app-error';
import { problem, type Problem } from './problem';
import { isTransientDbError, RETRY_AFTER_SECONDS } from './transient';

/**
 * The one place errors become HTTP responses (application/problem+json, RFC 9457).
 * Prisma errors are mapped here and nowhere else.
 */
@Catch()
export class ProblemFilter implements ExceptionFilter {
  private readonly logger = new Logger('Errors');

  catch(exception: unknown, host: ArgumentsHost): void {
    const ctx = host.switchToHttp();
    const req = ctx.getRequest<FastifyRequest>();
    const reply = ctx.getResponse<FastifyReply>();
    const { body, headers } = this.toProblem(exception, req);
    if (body.status >= 500) body.request_id = String(req.id);
    for (const [k, v] of Object.entries(headers)) void reply.header(k, v);
    void reply.status(body.status).header('content-type', 'application/problem+json').send(body);
  }

  toProblem(
    exception: unknown,
    req: FastifyRequest,
  ): { body: Problem; headers: Record<string, string> } {
    if (exception instanceof AppError) {
      const { errors, headers, ...rest } = exception.extra;
      return {
        body: problem(exception.httpStatus, exception.code, exception.detail, {
          ...rest,
          ...(errors ? { errors } : {}),
        }),
        headers: headers ?? {},
      };
    }
    if (exception instanceof ThrottlerException) {
      return {
        body: problem(429, 'rate_limit/exceeded', 'Too many requests; retry later'),
        headers: {},
      };
    }
    if (exception instanceof HttpException) {
      // The Fastify adapter wraps Fastify's own 4xx errors (bad JSON, body too large, media
      // type) in an HttpException whose cause is the original FST_* error.
      const fastifyCause = fromFastify(exception.cause);
      if (fastifyCause) return { body: fastifyCause, headers: {} };
      const status = exception.getStatus();
      const code = status === 404 ? 'route/not_found' : `http/${status}`;
      // The path is not echoed: it is the client's input, of any length and content.
      const detail = status === 404 ? `No route for ${req.method} at this path` : exception.message;
      return { body: problem(status, code, detail), headers: {} };
    }
    // Before the Prisma codes: a P2010 carrying 57P01 is a lost connection, not a bad query.
    if (
      exception instanceof Prisma.PrismaClientInitializationError ||
      isTransientDbError(exception)
    ) {
      this.logger.warn(
        { reqId: req.id, route: req.routeOptions?.url, err: (exception as Error)?.message },
        'database unavailable: answered 503',
      );
      return {
        body: problem(503, 'service/unavailable', 'The database is unavailable; retry later'),
        headers: { 'Retry-After': String(RETRY_AFTER_SECONDS) },
      };
    }
    const prismaMapped = this.fromPrisma(exception);
    if (prismaMapped) return { body: prismaMapped, headers: {} };
    const fastifyMapped = fromFastify(exception);
    if (fastifyMapped) return { body: fastifyMapped, headers: {} };

    this.logger.error(
      { err: exception, reqId: req.id, route: req.routeOptions?.url },
      `unhandled error (request ${String(req.id)})`,
    );
    return {
      body: problem(
        500,
        'internal/error',
        'An unexpected error occurred; quote the request_id when reporting it',
      ),
      headers: {},
    };
  }

  private fromPrisma(e: unknown): Problem | undefined {
    if (e instanceof Prisma.PrismaClientKnownRequestError) {
      if (e.code === 'P2002')
        return problem(
          409,
          'resource/duplicate',
          'A resource with these unique fields already exists',
        );
      if (e.code === 'P2025') return problem(404, 'resource/not_found', 'Resource not found');
      if (e.code === 'P2020')
        return problem(422, 'request/value_out_of_range', 'A value is out of range');
      if (e.code === 'P2003')
        return problem(
          409,
          'resource/referenced',
          'The resource is referenced by or refers to another one',
        );
    }
    return undefined;
  }
}

/** Errors Fastify raises before a route runs (body parsing, size, media type). */
export function fromFastify(e: unknown): Problem | undefined {
  const err = e as { code?: unknown; statusCode?: unknown; message?: unknown } | null;
  if (!err || typeof err.code !== 'string' || !err.code.startsWith('FST_')) return undefined;
  const status = typeof err.statusCode === 'number' ? err.statusCode : 400;
  const codes: Record<string, [number, string, string]> = {
    FST_ERR_CTP_BODY_TOO_LARGE: [413, 'request/body_too_large', 'The request body is too large'],
    FST_ERR_CTP_INVALID_MEDIA_TYPE: [
      415,
      'request/unsupported_media_type',
      'Unsupported content type',
    ],
    FST_ERR_CTP_INVALID_JSON_BODY: [400, 'request/malformed_body', 'The body is not valid JSON'],
    FST_ERR_CTP_EMPTY_JSON_BODY: [400, 'request/malformed_body', 'The JSON body is empty'],
    FST_ERR_CTP_INVALID_CONTENT_LENGTH: [400, 'request/malformed_body', 'Invalid content length'],
  };
  const known = codes[err.code];
  if (known) return problem(known[0], known[1], known[2]);
  if (status >= 400 && status < 500) {
    return problem(
      status,
      'request/malformed',
      typeof err.message === 'string' ? err.message : 'Bad request',
    );
  }
  return undefined;
}

/**
 * Errors Fastify's router raises before any route or hook (Fastify's `frameworkErrors`): a path
 * that is not valid percent-encoding, or a parameter past maxParamLength. Never echoes the path.
 */
export function fromRouter(e: { code?: string }): Problem {
  if (e.code === 'FST_ERR_MAX_PARAM_LENGTH') {
    return problem(414, 'request/uri_too_long', 'A path segment is too long');
  }
  if (e.code === 'FST_ERR_BAD_URL') {
    return problem(400, 'request/malformed_url', 'The path is not valid percent-encoding');
  }
  return problem(400, 'request/malformed', 'Bad request');
}
