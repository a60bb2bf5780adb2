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
  ])('should map %s', (_name, exception, status, code) => {
    const { body } = filter.toProblem(exception, req);
    expect(body).toMatchObject({ status, code, type: expect.stringContaining(code) });
    expect(typeof body.title).toBe('string');
    expect(typeof body.detail).toBe('string');
    expect(logged).not.toHaveBeenCalled();
  });
});
