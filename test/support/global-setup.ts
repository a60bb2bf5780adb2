import { dropStaleTestDatabases, ensureTemplate } from './db';

/** Builds the migrated template database once; every test file clones it. */
export default async function globalSetup(): Promise<void> {
  await ensureTemplate();
  await dropStaleTestDatabases();
}
