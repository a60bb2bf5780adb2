/** ReDoc page for the spec (the script is loaded by the reader's browser). */
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
    <script src="https://cdn.redoc.ly/redoc/latest/bundles/redoc.standalone.js"></script>
  </body>
</html>`;
}
