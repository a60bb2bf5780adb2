import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';

/** ReDoc's standalone bundle from the pinned `redoc` npm package, served by Berth (no CDN). */
export const REDOC_SCRIPT_PATH = '/redoc/redoc.standalone.js';

let bundle: { source: Buffer; integrity: string } | undefined;

export function redocBundle(): { source: Buffer; integrity: string } {
  if (!bundle) {
    const source = readFileSync(require.resolve('redoc/bundles/redoc.standalone.js'));
    const integrity = `sha384-${createHash('sha384').update(source).digest('base64')}`;
    bundle = { source, integrity };
  }
  return bundle;
}

/** ReDoc page for the spec: the script comes from this origin, with its integrity hash. */
export function redocHtml(specUrl: string): string {
  return `<!DOCTYPE html>
<html>
  <head>
    <title>Berth API reference</title>
    <meta charset="utf-8" />
    <meta name="viewport" content="width=device-width, initial-scale=1" />
  </head>
  <body>
    <redoc spec-url="${specUrl}"></redoc>
    <script src="${REDOC_SCRIPT_PATH}" integrity="${redocBundle().integrity}"></script>
  </body>
</html>`;
}
