/** Rows of a raw `db.execute` on either driver (postgres.js returns an array, PGlite `{ rows }`). */
export function rowsOf<T>(res: unknown): T[] {
  return (Array.isArray(res) ? res : (res as { rows: T[] }).rows) as T[];
}
