// The run worker keeps the students it trains: each checkpoint's and each finished run's student
// go straight into the page's IndexedDB (the schema of app/state/db.ts, shared rather than
// repeated), so the page's main thread never serializes weights — its put of a student took
// 5–37 ms of the task handling the message (timed in the page, 2026-11-30). Where IndexedDB
// cannot be used here (Node, storage refused, a page keeping its runs in memory) the files travel
// to the page, which stores them.
import { openRunDb, type RunDb } from '../app/state/db';
import type { StudentFiles } from './protocol';

let db: Promise<RunDb | undefined> | undefined;

/** The page keeps its runs in IndexedDB (its catalog request says so): store students there. */
export function storeStudentsHere(): void {
  if (typeof indexedDB !== 'undefined') db ??= openRunDb().catch(() => undefined);
}

/** Stores a run's student; false when it could not, and the page must. */
export async function storeStudent(id: string, files: StudentFiles): Promise<boolean> {
  const open = await db;
  if (!open) return false;
  return open.putStudent(id, files).then(
    () => true,
    () => false,
  );
}
