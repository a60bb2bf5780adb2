import { join } from 'node:path';
import { loadConfig } from '../config/configuration';
import { ensureDatabase, migrate } from './migrator';

/** `npm run db:migrate` (and the container's one-shot migrate step). */
async function main(): Promise<void> {
  const config = loadConfig(process.env);
  await ensureDatabase(config.databaseUrl);
  const dir = join(__dirname, '..', '..', 'prisma', 'migrations');
  const applied = await migrate(config.databaseUrl, dir, (l) => console.log(l));
  console.log(applied.length ? `${applied.length} migration(s) applied` : 'database is up to date');
}

main().catch((err: unknown) => {
  console.error(err instanceof Error ? err.message : err);
  process.exit(1);
});
