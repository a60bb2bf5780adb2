import { randomUUID } from 'node:crypto';
import type { Writable } from 'node:stream';
import { NestFactory } from '@nestjs/core';
import { LogController, type FastifyError, type FastifyReply, type FastifyRequest } from 'fastify';
import pino from 'pino';
import { FastifyAdapter, NestFastifyApplication } from '@nestjs/platform-fastify';
import { AppModule } from './app.module';
import { configureApp } from './app.setup';
import { PinoNestLogger } from './common/logging/pino-nest-logger';
import { loadConfig } from './config/configuration';
import { fromRouter } from './common/errors/problem.filter';
import { registerSecurityHeaders } from './common/http/security-headers';

export interface CreateAppOptions {
  /** Where the JSON logs go (tests read them); stdout by default. */
  logStream?: Writable;
  env?: Record<string, string | undefined>;
}

const REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;
/**
 * Anonymous routes whose bodies are a few short fields: a body past this is refused while it
 * streams in (413), so large anonymous bodies cannot occupy the event loop (issue 10, finding 4).
 */
const SMALL_BODY_ROUTES = new Set(['/token', '/users', '/users/']);
const SMALL_BODY_LIMIT = 8 * 1024;

/** Builds the Fastify adapter with Berth's logging and limits, then the configured Nest app. */
export async function createApp(options: CreateAppOptions = {}): Promise<NestFastifyApplication> {
  const config = loadConfig(options.env ?? process.env);
  const adapter = new FastifyAdapter({
    bodyLimit: config.bodyLimitBytes,
    routerOptions: { ignoreTrailingSlash: true, ignoreDuplicateSlashes: true },
    // A hop count is supported by Fastify (proxy-addr) though its typings omit numbers.
    trustProxy: config.trustProxy as boolean | string[],
    frameworkErrors: (err: FastifyError, _req: FastifyRequest, reply: FastifyReply) => {
      const body = fromRouter(err);
      void reply.status(body.status).header('content-type', 'application/problem+json').send(body);
    },
    logController: new LogController({ disableRequestLogging: true }),
    requestIdHeader: false,
    genReqId: (req: { headers: Record<string, string | string[] | undefined> }) => {
      const given = req.headers['x-request-id'];
      return typeof given === 'string' && REQUEST_ID.test(given) ? given : randomUUID();
    },
    logger: {
      level: config.logLevel,
      // stdout through an asynchronous sonic-boom: a synchronous write per line (pino's default)
      // was ~8% of the API's CPU profile, spent blocking the event loop in writev. pino flushes
      // it on exit; the tests pass their own stream.
      stream: options.logStream ?? pino.destination({ dest: 1, sync: false }),
      redact: {
        paths: ['req.headers.authorization', 'req.headers.cookie', '*.password', '*.access_token'],
        remove: true,
      },
    },
  });
  const fastify = adapter.getInstance();
  fastify.addHook('onRoute', (route) => {
    if (SMALL_BODY_ROUTES.has(route.url ?? '')) route.bodyLimit = SMALL_BODY_LIMIT;
  });
  // One JSON line per request: request id, user, route, status, duration. Never bodies or headers.
  // req.log is a child logger already bound to { reqId }: repeating it would duplicate the key.
  fastify.addHook('onResponse', (req, reply, done) => {
    const user = (req as unknown as { user?: { id: number } }).user;
    req.log.info(
      {
        userId: user?.id,
        method: req.method,
        route: req.routeOptions.url ?? 'unmatched',
        status: reply.statusCode,
        durationMs: Math.round(reply.elapsedTime * 100) / 100,
      },
      'request',
    );
    done();
  });
  registerSecurityHeaders(fastify);
  fastify.addHook('onSend', (req, reply, _payload, done) => {
    void reply.header('x-request-id', req.id);
    done();
  });

  const app = await NestFactory.create<NestFastifyApplication>(
    AppModule.register(config),
    adapter,
    {
      bufferLogs: true,
    },
  );
  app.useLogger(new PinoNestLogger(fastify.log));
  app.enableShutdownHooks();
  return configureApp(app);
}
