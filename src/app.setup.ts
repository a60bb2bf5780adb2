import { ValidationPipe, type ValidationError } from '@nestjs/common';
import { NestFastifyApplication } from '@nestjs/platform-fastify';
import { DocumentBuilder, SwaggerModule, type OpenAPIObject } from '@nestjs/swagger';
import { AppError, type FieldError } from './common/errors/app-error';
import { ProblemFilter } from './common/errors/problem.filter';
import { redocBundle, redocHtml, REDOC_SCRIPT_PATH } from './common/docs/redoc';
import { serveWebUi } from './common/web-ui';
import { HostileInputPipe } from './common/pipes/hostile-input.pipe';

export function flattenValidationErrors(errors: ValidationError[], parent = ''): FieldError[] {
  return errors.flatMap((e) => {
    const field = parent ? `${parent}.${e.property}` : e.property;
    const own = Object.values(e.constraints ?? {}).map((message) => ({ field, message }));
    return [...own, ...flattenValidationErrors(e.children ?? [], field)];
  });
}

export function buildOpenApi(app: NestFastifyApplication): OpenAPIObject {
  const config = new DocumentBuilder()
    .setTitle('Berth')
    .setDescription(
      'Cluster deployment scheduler: organisations, clusters with fixed RAM/CPU/GPU, and ' +
        'deployments placed by priority with bin packing and preemption.\n\n' +
        'Errors are `application/problem+json` (RFC 9457) with a stable `code`. Resource ' +
        'amounts: `ram` in GiB, `cpu` in cores, `gpu` in devices, up to 3 decimals.\n\n' +
        'Codes any route may answer: `request/validation_failed` (422), `request/malformed_body`, ' +
        '`request/malformed_url`, `request/malformed` (400), `request/uri_too_long` (414), ' +
        '`request/body_too_large` (413), `request/unsupported_media_type` (415), ' +
        '`route/not_found`, `resource/not_found` (404), `resource/duplicate`, ' +
        '`resource/referenced` (409), `request/value_out_of_range` (422), ' +
        '`auth/unauthenticated` (401), `rate_limit/exceeded` (429), `service/unavailable` (503).',
    )
    .setVersion('1.0.0')
    // Relative: clients and Swagger UI call the server the spec was read from.
    .addServer('/', 'This server')
    .setLicense(
      'UNLICENSED (proprietary)',
      'https://docs.npmjs.com/cli/v11/configuring-npm/package-json#license',
    )
    .addBearerAuth({ type: 'http', scheme: 'bearer', bearerFormat: 'JWT' })
    .addSecurityRequirements('bearer')
    .build();
  return SwaggerModule.createDocument(app, config, {
    operationIdFactory: (controllerKey, methodKey) =>
      `${controllerKey.replace(/Controller$/, '')}_${methodKey}`,
  });
}

/** Everything main.ts and the e2e tests share: parsers, pipes, the error filter, the docs. */
export function configureApp(app: NestFastifyApplication): NestFastifyApplication {
  const fastify = app.getHttpAdapter().getInstance();
  // Errors Fastify raises before a handler runs (bad JSON, body too large, media type) reach
  // ProblemFilter through Nest's own Fastify error handler (the adapter wraps them in an
  // HttpException). A second setErrorHandler here would only be overridden by Nest at init,
  // which is what printed FSTWRN004 at every start.
  app.useGlobalPipes(
    new HostileInputPipe(),
    new ValidationPipe({
      whitelist: true,
      transform: true,
      stopAtFirstError: false,
      validationError: { target: false, value: false },
      exceptionFactory: (errors) =>
        new AppError(422, 'request/validation_failed', 'The request is invalid', {
          errors: flattenValidationErrors(errors),
        }),
    }),
  );
  app.useGlobalFilters(new ProblemFilter());

  const document = buildOpenApi(app);
  SwaggerModule.setup('docs', app, document, { jsonDocumentUrl: 'openapi.json', raw: ['json'] });
  fastify.get('/redoc', { logLevel: 'warn' }, (_req, reply) => {
    void reply.type('text/html').send(redocHtml('/openapi.json'));
  });
  fastify.get(REDOC_SCRIPT_PATH, { logLevel: 'warn' }, (_req, reply) => {
    void reply
      .type('application/javascript; charset=utf-8')
      .header('cache-control', 'public, max-age=86400')
      .send(redocBundle().source);
  });
  serveWebUi(fastify);
  return app;
}
