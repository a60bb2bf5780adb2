import type { FastifyInstance } from 'fastify';

/**
 * Pages (Swagger UI at /docs, ReDoc at /redoc, the dashboard at /ui) load only what this origin
 * serves. Inline styles are allowed because Swagger UI and ReDoc set them; scripts are not inline.
 */
export const HTML_CSP = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self' 'unsafe-inline'",
  "img-src 'self' data: blob:",
  "font-src 'self' data:",
  "connect-src 'self'",
  "worker-src 'self' blob:",
  "object-src 'none'",
  "base-uri 'self'",
  "form-action 'self'",
  "frame-ancestors 'none'",
].join('; ');
/** Everything else is data, never a document: nothing may run or be framed in its name. */
export const API_CSP = "default-src 'none'; frame-ancestors 'none'";

/** Paths whose responses carry credentials: never stored by a browser or a shared cache. */
const NO_STORE = /^\/token\/?(\?|$)/;

/**
 * The headers `@fastify/helmet` would set, chosen per response: a strict CSP for API responses,
 * a 'self' policy for HTML pages, `no-store` on the token endpoint and on authenticated answers.
 */
export function registerSecurityHeaders(fastify: FastifyInstance): void {
  fastify.addHook('onSend', (req, reply, payload, done) => {
    const type = String(reply.getHeader('content-type') ?? '');
    void reply.header('x-content-type-options', 'nosniff');
    void reply.header('x-frame-options', 'DENY');
    void reply.header('referrer-policy', 'no-referrer');
    void reply.header('cross-origin-opener-policy', 'same-origin');
    void reply.header('cross-origin-resource-policy', 'same-origin');
    if (!reply.hasHeader('content-security-policy')) {
      void reply.header(
        'content-security-policy',
        type.startsWith('text/html') ? HTML_CSP : API_CSP,
      );
    }
    if (
      NO_STORE.test(req.url) ||
      (req.headers.authorization && !reply.hasHeader('cache-control'))
    ) {
      void reply.header('cache-control', 'no-store');
      void reply.header('pragma', 'no-cache');
    }
    done(null, payload);
  });
}
