// IndexedDB, directly: run records and student files, uploaded teachers and their files,
// uploaded image sets and their files, each kind of files apart from its records so that
// listing at start-up never reads weights or images.
import type { ModelFiles, StudentFiles, UploadFile } from '../../worker/protocol';
import type { RunRecord } from './runs';
import type { ImageSet } from './store';
import type { UploadedTeacher } from './teachers';

export interface RunDb {
  all(): Promise<RunRecord[]>;
  put(run: RunRecord): Promise<void>;
  /** Deletes the record and its student files. */
  delete(id: string): Promise<void>;
  putStudent(id: string, files: StudentFiles): Promise<void>;
  student(id: string): Promise<StudentFiles | undefined>;
  teachers(): Promise<UploadedTeacher[]>;
  /** Saves the record, and the files when given (a re-check changes only the record). */
  putTeacher(teacher: UploadedTeacher, files?: ModelFiles): Promise<void>;
  teacherFiles(id: string): Promise<ModelFiles | undefined>;
  deleteTeacher(id: string): Promise<void>;
  imageSets(): Promise<ImageSet[]>;
  /** The set's record and its files (kept as the File objects picked: IndexedDB stores blobs). */
  putImageSet(set: ImageSet, files: UploadFile[]): Promise<void>;
  imageFiles(id: string): Promise<UploadFile[] | undefined>;
  deleteImageSet(id: string): Promise<void>;
}

const RUNS = 'runs';
const STUDENTS = 'students';
const TEACHERS = 'teachers';
const TEACHER_FILES = 'teacherFiles';
const IMAGE_SETS = 'imageSets';
const IMAGE_FILES = 'imageFiles';

const done = <T>(request: IDBRequest<T>) =>
  new Promise<T>((resolve, reject) => {
    request.onsuccess = () => resolve(request.result);
    request.onerror = () => reject(request.error ?? new Error('IndexedDB request failed'));
  });

export async function openRunDb(name = 'compression-lab'): Promise<RunDb> {
  // Version 2 added the teacher stores, 3 the image sets; an upgrade only adds what is missing,
  // so saved runs stay.
  const open = indexedDB.open(name, 3);
  open.onupgradeneeded = () => {
    const db = open.result;
    const missing = (store: string) => !db.objectStoreNames.contains(store);
    if (missing(RUNS)) db.createObjectStore(RUNS, { keyPath: 'id' });
    if (missing(STUDENTS)) db.createObjectStore(STUDENTS);
    if (missing(TEACHERS)) db.createObjectStore(TEACHERS, { keyPath: 'id' });
    if (missing(TEACHER_FILES)) db.createObjectStore(TEACHER_FILES);
    if (missing(IMAGE_SETS)) db.createObjectStore(IMAGE_SETS, { keyPath: 'id' });
    if (missing(IMAGE_FILES)) db.createObjectStore(IMAGE_FILES);
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
    teachers: () =>
      tx(
        [TEACHERS],
        'readonly',
        (t) => t.objectStore(TEACHERS).getAll() as IDBRequest<UploadedTeacher[]>,
      ),
    putTeacher: async (teacher, files) => {
      await tx([TEACHERS, TEACHER_FILES], 'readwrite', (t) => {
        if (files) t.objectStore(TEACHER_FILES).put(files, teacher.id);
        return t.objectStore(TEACHERS).put(teacher);
      });
    },
    teacherFiles: (id) =>
      tx(
        [TEACHER_FILES],
        'readonly',
        (t) => t.objectStore(TEACHER_FILES).get(id) as IDBRequest<ModelFiles | undefined>,
      ),
    deleteTeacher: async (id) => {
      await tx([TEACHERS, TEACHER_FILES], 'readwrite', (t) => {
        t.objectStore(TEACHER_FILES).delete(id);
        return t.objectStore(TEACHERS).delete(id);
      });
    },
    imageSets: () =>
      tx(
        [IMAGE_SETS],
        'readonly',
        (t) => t.objectStore(IMAGE_SETS).getAll() as IDBRequest<ImageSet[]>,
      ),
    putImageSet: async (set, files) => {
      await tx([IMAGE_SETS, IMAGE_FILES], 'readwrite', (t) => {
        t.objectStore(IMAGE_FILES).put(files, set.id);
        return t.objectStore(IMAGE_SETS).put(set);
      });
    },
    imageFiles: (id) =>
      tx(
        [IMAGE_FILES],
        'readonly',
        (t) => t.objectStore(IMAGE_FILES).get(id) as IDBRequest<UploadFile[] | undefined>,
      ),
    deleteImageSet: async (id) => {
      await tx([IMAGE_SETS, IMAGE_FILES], 'readwrite', (t) => {
        t.objectStore(IMAGE_FILES).delete(id);
        return t.objectStore(IMAGE_SETS).delete(id);
      });
    },
  };
}

/** The same contract in memory: for unit tests, and when the browser refuses IndexedDB. */
export function memoryRunDb(): RunDb {
  const runs = new Map<string, RunRecord>();
  const students = new Map<string, StudentFiles>();
  const teachers = new Map<string, UploadedTeacher>();
  const teacherFiles = new Map<string, ModelFiles>();
  const imageSets = new Map<string, ImageSet>();
  const imageFiles = new Map<string, UploadFile[]>();
  return {
    all: async () => [...runs.values()],
    put: async (run) => void runs.set(run.id, run),
    delete: async (id) => {
      runs.delete(id);
      students.delete(id);
    },
    putStudent: async (id, files) => void students.set(id, files),
    student: async (id) => students.get(id),
    teachers: async () => [...teachers.values()],
    putTeacher: async (teacher, files) => {
      teachers.set(teacher.id, teacher);
      if (files) teacherFiles.set(teacher.id, files);
    },
    teacherFiles: async (id) => teacherFiles.get(id),
    deleteTeacher: async (id) => {
      teachers.delete(id);
      teacherFiles.delete(id);
    },
    imageSets: async () => [...imageSets.values()],
    putImageSet: async (set, files) => {
      imageSets.set(set.id, set);
      imageFiles.set(set.id, files);
    },
    imageFiles: async (id) => imageFiles.get(id),
    deleteImageSet: async (id) => {
      imageSets.delete(id);
      imageFiles.delete(id);
    },
  };
}
