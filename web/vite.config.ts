import { defineConfig } from 'vite';

/**
 * Built by `npm run build` (`vite build web`, so paths are relative to web/). The Nest app serves
 * the output at /ui from dist/web, next to the compiled server: one deployable dist/, one origin
 * (no CORS).
 */
export default defineConfig({
  base: '/ui/',
  oxc: { jsx: { runtime: 'automatic', importSource: 'preact' } },
  build: {
    outDir: '../dist/web',
    emptyOutDir: true,
    // The polyfill would be an inline script, which the dashboard's CSP (script-src 'self') refuses.
    modulePreload: { polyfill: false },
    target: 'es2022',
  },
  // `npm run dev:web`: the API of `npm start` on :8000, the dashboard with reload on :5173/ui/.
  server: { proxy: { '^/(?!ui(/|$))': 'http://127.0.0.1:8000' } },
});
