import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createApp } from './app.factory';
import { buildOpenApi } from './app.setup';

/**
 * Writes (`--write`) or verifies (`--check`) the committed openapi.json. Runs from the compiled
 * build so the Swagger CLI plugin's metadata is included. Needs no database or Redis.
 */
async function main(): Promise<void> {
  const mode = process.argv.includes('--write') ? 'write' : 'check';
  const app = await createApp({
    env: { ...process.env, NODE_ENV: 'test', LOG_LEVEL: 'silent', SCHEDULER_WORKER: 'false' },
  });
  const spec = `${JSON.stringify(buildOpenApi(app), null, 2)}\n`;
  await app.close();
  const file = join(__dirname, '..', 'openapi.json');
  if (mode === 'write') {
    writeFileSync(file, spec);
    console.log(`wrote ${file}`);
    return;
  }
  let committed = '';
  try {
    committed = readFileSync(file, 'utf8');
  } catch {
    /* missing counts as different */
  }
  if (committed !== spec) {
    console.error('openapi.json is out of date: run `npm run openapi` and commit the result');
    process.exit(1);
  }
  console.log('openapi.json is up to date');
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
