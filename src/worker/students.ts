// The run worker keeps the students it trains: each checkpoint's and each finished run's student
// go straight into the page's IndexedDB (the schema of app/state/db.ts, shared rather than
// repeated), so the page's main thread never serializes weights — its put of a student took
// 5–37 ms of the task handling the message (timed in the page, 2026-11-30). Where IndexedDB
// cannot be used here (Node, storage refused) the files travel to the page, which stores them.
import { openRunDb, type RunDb } from '../app/state/db';
import type { StudentFiles } from './protocol';

let db: Promise<RunDb | undefined> | undefined;

/** Stores a run's student; false when it could not, and the page must. */
export async function storeStudent(id: string, files: StudentFiles): Promise<boolean> {
  if (typeof indexedDB === 'undefined') return false;
  db ??= openRunDb().catch(() => undefined);
  const open = await db;
  if (!open) return false;
  return open.putStudent(id, files).then(
    () => true,
    () => false,
  );
}
