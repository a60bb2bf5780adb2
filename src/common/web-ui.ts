import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import fastifyStatic from '@fastify/static';
import type { FastifyInstance, FastifyReply } from 'fastify';
import { problem } from './errors/problem';

/**
 * Where `npm run build` puts the web dashboard (web/, built by Vite). Resolved from this file so
 * it is the same folder whether the server runs compiled (dist/common) or from source under the
 * e2e tests (src/common).
 */
export const WEB_UI_DIR = join(__dirname, '..', '..', 'dist', 'web');

/**
 * The dashboard's own scripts and styles only; it talks to the API on the same origin. Preact
 * sets styles through the CSSOM (not style attributes), which style-src 'self' allows.
 */
const UI_CSP = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "connect-src 'self'",
  "font-src 'self'",
  "object-src 'none'",
  "base-uri 'self'",
  "form-action 'self'",
  "frame-ancestors 'none'",
].join('; ');

/**
 * Serves the dashboard at /ui: hashed assets under /ui/assets/ (cached for good), and
 * index.html for /ui, /ui/ and every client-side route under it. Without a build, /ui answers
 * a 404 problem that says how to build it.
 */
export function serveWebUi(fastify: FastifyInstance, dir = WEB_UI_DIR): void {
  const indexFile = join(dir, 'index.html');
  const built = existsSync(indexFile);
  const index = built ? readFileSync(indexFile) : undefined;
  const page = (_req: unknown, reply: FastifyReply): void => {
    if (!index) {
      const body = problem(404, 'ui/not_built', 'The web UI was not built: run `npm run build`');
      void reply.status(404).type('application/problem+json').send(body);
      return;
    }
    void reply
      .type('text/html; charset=utf-8')
      .header('cache-control', 'no-cache')
      .header('content-security-policy', UI_CSP)
      .header('x-content-type-options', 'nosniff')
      .header('referrer-policy', 'no-referrer')
      .send(index);
  };
  if (built) {
    void fastify.register(fastifyStatic, {
      root: join(dir, 'assets'),
      prefix: '/ui/assets/',
      decorateReply: false,
      index: false,
      immutable: true,
      maxAge: '365d',
    });
  }
  fastify.get('/ui', { logLevel: 'warn' }, page);
  fastify.get('/ui/*', { logLevel: 'warn' }, page);
}
