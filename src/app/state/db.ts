// IndexedDB, directly: one store of run records and one of student files, kept apart so that
// listing the runs at start-up never reads weights.
import type { StudentFiles } from '../../worker/protocol';
import type { RunRecord } from './runs';

export interface RunDb {
  all(): Promise<RunRecord[]>;
  put(run: RunRecord): Promise<void>;
  /** Deletes the record and its student files. */
  delete(id: string): Promise<void>;
  putStudent(id: string, files: StudentFiles): Promise<void>;
  student(id: string): Promise<StudentFiles | undefined>;
}

const RUNS = 'runs';
const STUDENTS = 'students';

const done = <T>(request: IDBRequest<T>) =>
  new Promise<T>((resolve, reject) => {
    request.onsuccess = () => resolve(request.result);
    request.onerror = () => reject(request.error ?? new Error('IndexedDB request failed'));
  });

export async function openRunDb(name = 'compression-lab'): Promise<RunDb> {
  const open = indexedDB.open(name, 1);
  open.onupgradeneeded = () => {
    open.result.createObjectStore(RUNS, { keyPath: 'id' });
    open.result.createObjectStore(STUDENTS);
  };
  const db = await done(open);

  const tx = async <T>(
    stores: string[],
    mode: IDBTransactionMode,
    work: (t: IDBTransaction) => IDBRequest<T>,
  ): Promise<T> => {
    const t = db.transaction(stores, mode);
    // A write is durable only once its transaction completes, not when its request succeeds.
    const complete = new Promise<void>((resolve, reject) => {
      t.oncomplete = () => resolve();
      t.onerror = t.onabort = () => reject(t.error ?? new Error('IndexedDB transaction failed'));
    });
    const [result] = await Promise.all([done(work(t)), complete]);
    return result;
  };

  return {
    all: () =>
      tx([RUNS], 'readonly', (t) => t.objectStore(RUNS).getAll() as IDBRequest<RunRecord[]>),
    put: async (run) => {
      await tx([RUNS], 'readwrite', (t) => t.objectStore(RUNS).put(run));
    },
    delete: async (id) => {
      await tx([RUNS, STUDENTS], 'readwrite', (t) => {
        t.objectStore(STUDENTS).delete(id);
        return t.objectStore(RUNS).delete(id);
      });
    },
    putStudent: async (id, files) => {
      await tx([STUDENTS], 'readwrite', (t) => t.objectStore(STUDENTS).put(files, id));
    },
    student: (id) =>
      tx(
        [STUDENTS],
        'readonly',
        (t) => t.objectStore(STUDENTS).get(id) as IDBRequest<StudentFiles | undefined>,
      ),
  };
}

/** The same contract in memory: for unit tests, and when the browser refuses IndexedDB. */
export function memoryRunDb(): RunDb {
  const runs = new Map<string, RunRecord>();
  const students = new Map<string, StudentFiles>();
  return {
    all: async () => [...runs.values()],
    put: async (run) => void runs.set(run.id, run),
    delete: async (id) => {
      runs.delete(id);
      students.delete(id);
    },
    putStudent: async (id, files) => void students.set(id, files),
    student: async (id) => students.get(id),
  };
}
