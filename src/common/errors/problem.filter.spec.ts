import { ArgumentsHost, HttpException, Logger, NotFoundException } from '@nestjs/common';
import { ThrottlerException } from '@nestjs/throttler';
import type { FastifyRequest } from 'fastify';
import { Prisma } from '../../generated/prisma/client';
import { AppError, conflict } from './app-error';
import { ProblemFilter } from './problem.filter';

const req = {
  id: 'req-123',
  method: 'GET',
  url: '/nowhere?x=1',
  routeOptions: { url: '/nowhere' },
} as unknown as FastifyRequest;

function fakeHost() {
  const sent: { status?: number; headers: Record<string, string>; body?: unknown } = {
    headers: {},
  };
  const reply = {
    status(code: number) {
      sent.status = code;
      return reply;
    },
    header(k: string, v: string) {
      sent.headers[k.toLowerCase()] = v;
      return reply;
    },
    send(body: unknown) {
      sent.body = body;
      return reply;
    },
  };
  const host = {
    switchToHttp: () => ({ getRequest: () => req, getResponse: () => reply }),
  } as unknown as ArgumentsHost;
  return { host, sent };
}

describe(ProblemFilter.name, () => {
  const filter = new ProblemFilter();
  let logged: jest.SpyInstance;
  beforeEach(() => {
    logged = jest.spyOn(Logger.prototype, 'error').mockImplementation(() => undefined);
  });
  afterEach(() => logged.mockRestore());

  it('should map an unexpected Error to 500 internal/error and log it with the request id', () => {
    const { body, headers } = filter.toProblem(new Error('db exploded: secret details'), req);
    expect(body).toMatchObject({
      type: expect.stringContaining('internal/error'),
      title: 'Internal Server Error',
      status: 500,
      code: 'internal/error',
    });
    expect(body.detail).not.toContain('secret details');
    expect(headers).toEqual({});
    expect(logged).toHaveBeenCalledTimes(1);
    expect(JSON.stringify(logged.mock.calls[0])).toContain('req-123');
  });

  it('should send a 500 as problem+json carrying the request_id', () => {
    const { host, sent } = fakeHost();
    filter.catch(new TypeError('boom'), host);
    expect(sent.status).toBe(500);
    expect(sent.headers['content-type']).toBe('application/problem+json');
    expect(sent.body).toMatchObject({ status: 500, code: 'internal/error', request_id: 'req-123' });
  });

  it('should not attach a request_id to a 4xx', () => {
    const { host, sent } = fakeHost();
    filter.catch(conflict('thing/conflict', 'Nope'), host);
    expect(sent.status).toBe(409);
    expect(sent.body).not.toHaveProperty('request_id');
  });

  it('should render an AppError with its code, field errors and headers', () => {
    const err = new AppError(429, 'rate_limit/exceeded', 'Slow down', {
      headers: { 'Retry-After': '7' },
      errors: [{ field: 'x', message: 'bad' }],
    });
    const { body, headers } = filter.toProblem(err, req);
    expect(body).toMatchObject({
      status: 429,
      code: 'rate_limit/exceeded',
      detail: 'Slow down',
      errors: [{ field: 'x', message: 'bad' }],
    });
    expect(body).not.toHaveProperty('headers');
    expect(headers).toEqual({ 'Retry-After': '7' });
    expect(logged).not.toHaveBeenCalled();
  });

  it.each<[string, unknown, number, string]>([
    ['a route 404', new NotFoundException(), 404, 'route/not_found'],
    ['a ThrottlerException', new ThrottlerException(), 429, 'rate_limit/exceeded'],
    [
      'a wrapped Fastify body-size error',
      new HttpException('too large', 413, {
        cause: Object.assign(new Error('too large'), {
          code: 'FST_ERR_CTP_BODY_TOO_LARGE',
          statusCode: 413,
        }),
      }),
      413,
      'request/body_too_large',
    ],
    [
      'a wrapped Fastify JSON error',
      new HttpException('bad json', 400, {
        cause: Object.assign(new Error('bad'), {
          code: 'FST_ERR_CTP_INVALID_JSON_BODY',
          statusCode: 400,
        }),
      }),
      400,
      'request/malformed_body',
    ],
    [
      'a Prisma unique violation (P2002)',
      new Prisma.PrismaClientKnownRequestError('dup', { code: 'P2002', clientVersion: '7' }),
      409,
      'resource/duplicate',
    ],
    [
      'a Prisma missing record (P2025)',
      new Prisma.PrismaClientKnownRequestError('gone', { code: 'P2025', clientVersion: '7' }),
      404,
      'resource/not_found',
    ],
    [
      'a refused database connection',
      Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:5432'), { code: 'ECONNREFUSED' }),
      503,
      'service/unavailable',
    ],
    [
      'a pool timeout (P2024)',
      new Prisma.PrismaClientKnownRequestError('pool', { code: 'P2024', clientVersion: '7' }),
      503,
      'service/unavailable',
    ],
    [
      'a transaction that could not start in time (P2028)',
      new Prisma.PrismaClientKnownRequestError('Unable to start a transaction in the given time.', {
        code: 'P2028',
        clientVersion: '7',
      }),
      503,
      'service/unavailable',
    ],
    [
      'a write conflict (P2034)',
      new Prisma.PrismaClientKnownRequestError('conflict', { code: 'P2034', clientVersion: '7' }),
      503,
      'service/unavailable',
    ],
    [
      'a raw query whose backend was terminated (P2010 carrying 57P01)',
      new Prisma.PrismaClientKnownRequestError('Raw query failed.', {
        code: 'P2010',
        clientVersion: '7',
        meta: { driverAdapterError: { cause: { kind: 'postgres', code: '57P01' } } },
      }),
      503,
      'service/unavailable',
    ],
    [
      'a raw query that lost a serialization race (P2010 carrying 40001)',
      new Prisma.PrismaClientKnownRequestError('Raw query failed.', {
        code: 'P2010',
        clientVersion: '7',
        meta: { driverAdapterError: { cause: { kind: 'TransactionWriteConflict' } } },
      }),
      503,
      'service/unavailable',
    ],
    [
      'a transaction whose connection died',
      new Error('Client has encountered a connection error and is not queryable'),
      503,
      'service/unavailable',
    ],
    [
      // A replica draining on SIGTERM ended its pool while a request was still in flight
      // (fault suite, "SIGTERM worker + replica under load": two 500s before).
      'a request still in flight when its replica ended the pool',
      new Error('Cannot use a pool after calling end on the pool'),
      503,
      'service/unavailable',
    ],
    [
      'a reset connection',
      Object.assign(new Error('read ECONNRESET'), { code: 'ECONNRESET' }),
      503,
      'service/unavailable',
    ],
    [
      'a raw query with a syntax error (P2010 carrying 42601), which is a bug',
      new Prisma.PrismaClientKnownRequestError('Raw query failed.', {
        code: 'P2010',
        clientVersion: '7',
        meta: { driverAdapterError: { cause: { kind: 'postgres', code: '42601' } } },
      }),
      500,
      'internal/error',
    ],
  ])('should map %s', (_name, exception, status, code) => {
    const { body } = filter.toProblem(exception, req);
    expect(body).toMatchObject({ status, code, type: expect.stringContaining(code) });
    expect(typeof body.title).toBe('string');
    expect(typeof body.detail).toBe('string');
    expect(logged).toHaveBeenCalledTimes(status === 500 ? 1 : 0);
  });

  it('should send Retry-After with every 503', () => {
    const { headers } = filter.toProblem(
      Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:5432'), { code: 'ECONNREFUSED' }),
      req,
    );
    expect(headers['Retry-After']).toMatch(/^\d+$/);
  });
});
