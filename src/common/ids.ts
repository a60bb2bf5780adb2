/** Ids are PostgreSQL `integer`s: anything outside 1..MAX_DB_ID cannot exist and must not reach SQL. */
export const MAX_DB_ID = 2_147_483_647;

export function isDbId(n: number): boolean {
  return Number.isSafeInteger(n) && n > 0 && n <= MAX_DB_ID;
}
