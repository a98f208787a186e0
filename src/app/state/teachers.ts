// Teachers uploaded in this browser: what the page keeps of them (IndexedDB holds their files
// apart) and how they join the worker's catalog, so every select, sweep and run lists them.
import type {
  Catalog,
  ImportedTeacher,
  Preprocessing,
  TeacherCheck,
  TeacherInfo,
} from '../../worker/protocol';

/** Uploaded teachers' ids start with this; built-in ones never do. */
export const UPLOAD_PREFIX = 'upload:';

export const isUploadedTeacher = (id: string): boolean => id.startsWith(UPLOAD_PREFIX);

export interface UploadedTeacher extends Omit<ImportedTeacher, 'files' | 'check'> {
  id: string;
  createdAt: number;
  /** What the file itself says (folded layers, metadata): where detection starts from. */
  ownPreprocessing: Preprocessing;
  /** What runs use: the file's own, or the detected choice. */
  preprocessing: Preprocessing;
  /** The latest measurement on a built-in dataset (with the detection table, if one ran). */
  check: TeacherCheck;
}

export function uploadedTeacher(
  id: string,
  createdAt: number,
  t: ImportedTeacher,
): UploadedTeacher {
  const { files: _files, check, ...info } = t;
  return {
    ...info,
    id,
    createdAt,
    ownPreprocessing: check.preprocessing,
    preprocessing: check.preprocessing,
    check,
  };
}

/** How the selects show it: its name, marked as uploaded; its dataset is the one it was measured on. */
export function teacherInfo(t: UploadedTeacher): TeacherInfo {
  return {
    id: t.id,
    title: `${t.name} (uploaded ${t.format === 'onnx' ? 'ONNX' : 'TF.js'})`,
    arch: t.format,
    dataset: t.check.dataset,
    available: true,
    uploaded: true,
  };
}

/** The worker's catalog with the uploaded teachers after the built-in ones, oldest first. */
export function withUploads(catalog: Catalog, uploads: Record<string, UploadedTeacher>): Catalog {
  const uploaded = Object.values(uploads)
    .sort((a, b) => a.createdAt - b.createdAt)
    .map(teacherInfo);
  return { ...catalog, teachers: [...catalog.teachers.filter((t) => !t.uploaded), ...uploaded] };
}
