// The typed messages between the page and the run worker. Type-only: the page imports this and
// core's types, never core's code, so TensorFlow.js stays in the worker chunk.
import type {
  DataNeed,
  MethodPreset,
  ParamSchema,
  ResumeSupport,
  RunEvent,
  RunResult,
} from '../core/methods';
import type { SavedState } from '../core/methods/method-state';
import type { ParamChange, ParamSettings } from '../core/methods/params';
import type { DatasetId } from '../core/data';
import type { GraphStats, Preprocessing } from '../core/graph';
import type { BackendChoice, BackendInfo, BackendName } from '../core/runtime/backend';
import type { ModelSize, serializeGraph } from '../core/io';

export type {
  BackendChoice,
  BackendInfo,
  BackendName,
  DatasetId,
  Preprocessing,
  ResumeSupport,
  RunEvent,
  RunResult,
};

/** What a run is made of; also what the URL hash and the export file carry. */
export interface RunConfig {
  /** A built-in teacher's id, or an uploaded one's ('upload:…', sent with the start message). */
  teacher: string;
  dataset: DatasetId;
  /** 'half', 'copy' or a zoo architecture id. */
  student: string;
  method: string;
  params: Record<string, unknown>;
  seed: number;
  steps: number;
  /** Evaluate on the first N test examples (0: all); keeps slow backends usable. */
  testExamples: number;
  backend: BackendChoice;
  /**
   * Uploaded labelled images (an ImageSet's id) used instead of the dataset's training split;
   * the page keeps them in IndexedDB and sends their files with the start message.
   */
  shots?: string;
  /** The uploaded images are also the test set; otherwise accuracy means agreement with the teacher. */
  shotsAsTest?: boolean;
  /** Live parameter changes to make at their steps (a loaded recipe's schedule). */
  schedule?: ParamChange[];
}

/** A file the page hands to the worker, with its path in a picked folder (or its name). */
export interface UploadFile {
  path: string;
  file: File;
}

/** What an upload of labelled images holds: class folders (sorted) and their image counts. */
export interface ImageSetSummary {
  name: string;
  classNames: string[];
  counts: number[];
}

export interface MethodInfo {
  id: string;
  title: string;
  paper: string;
  summary: string;
  needs: { teacher: boolean; data: DataNeed };
  defaultStudent: 'half' | 'copy';
  defaultSteps: number;
  params: ParamSchema;
  presets?: Record<string, MethodPreset>;
  /** Whether an interrupted run can go on from its checkpoint, or why not. */
  resume: ResumeSupport;
}

export interface TeacherInfo {
  id: string;
  title: string;
  arch: string;
  dataset: DatasetId;
  /** public/models/<id>/model.json exists (the teachers are trained by a script). */
  available: boolean;
  /** Imported in this browser (kept in IndexedDB), not built in. */
  uploaded?: boolean;
}

export interface Catalog {
  methods: MethodInfo[];
  teachers: TeacherInfo[];
  architectures: { id: string; title: string; description: string }[];
  datasets: { id: DatasetId; title: string }[];
  /** Every backend, and the ones that can run in this browser (preference order). */
  backends: { all: BackendName[]; usable: BackendName[] };
}

/** graphStats of one network, with its name: the model summary panel's table. */
export interface ModelStats extends GraphStats {
  name: string;
  /** What it really costs: non-zeros, the exported file, gzipped (absent in older saved runs). */
  size?: ModelSize;
}

/** A network as TF.js Layers files: model.json text and its one weight shard. */
export type ModelFiles = Awaited<ReturnType<typeof serializeGraph>>;
/**
 * The student a run produced, as TF.js Layers files; a checkpoint's also carries the training
 * state its method keeps beside the student (a generator), to resume from.
 */
export type StudentFiles = ModelFiles & { state?: SavedState };

/** An uploaded teacher as a run receives it: its files and the preprocessing chosen for it. */
export interface TeacherModel {
  files: ModelFiles;
  preprocessing: Preprocessing;
}

/** One candidate of preprocessing detection and the accuracy it gave. */
export interface PreprocessingTrial {
  label: string;
  preprocessing: Preprocessing;
  accuracy: number;
}

/**
 * A teacher measured on a built-in dataset or on uploaded labelled images: its accuracy, or why
 * the data does not fit it.
 */
export interface TeacherCheck {
  dataset: DatasetId;
  /** The uploaded image set's name when it was measured on one (then `dataset` is unused). */
  images?: string;
  preprocessing: Preprocessing;
  /**
   * Accuracy on the first `examples` test images (on uploaded images: `examples` of them, spread
   * over every class); absent when the input does not fit.
   */
  accuracy?: number;
  examples: number;
  misfit?: RunError;
  /** Present after "Detect preprocessing": every candidate on `samples` training (or uploaded) images. */
  detection?: { samples: number; trials: PreprocessingTrial[]; chosen: number };
}

/** What importing a model file found: the IR as Layers files, its summary and a first check. */
export interface ImportedTeacher {
  name: string;
  format: 'tfjs-layers' | 'tfjs-graph' | 'onnx';
  /** The uploaded file names (after unzipping). */
  sourceFiles: string[];
  stats: ModelStats;
  /** NHWC without the batch. */
  inputShape: number[];
  classes: number;
  files: ModelFiles;
  check: TeacherCheck;
}

/** The teacher's and a run's student's predictions on the run's test images, compared. */
export interface PredictionChangesResult {
  classNames: string[];
  /** How many test images were compared. */
  examples: number;
  /** counts[true class][predicted class], of the teacher and of the student. */
  teacher: number[][];
  student: number[][];
  /** Images the teacher gets right and the student wrong, and the other way round. */
  flipped: number;
  rescued: number;
  /** The first flipped images as stored pixels, each captioned "true → student's class". */
  images: {
    width: number;
    height: number;
    channels: number;
    pixels: Uint8Array;
    captions: string[];
  };
}

/** Median inference wall time of one network on the backend named (see timeInference). */
export interface InferenceLatency {
  backend: BackendName;
  /** One image alone: what an interactive prediction waits for. */
  batch1Ms: number;
  /** A pass over 64 images divided by 64: the throughput cost. */
  perImageMs: number;
}

/** The latency task's answer: the students by run id, the teachers by teacher id. */
export interface LatencyResult {
  students: Record<string, InferenceLatency>;
  teachers: Record<string, InferenceLatency>;
}

/** Work the page asks of the worker beside runs; each answers with its TaskResults entry. */
export type WorkerTask =
  | {
      kind: 'import-teacher';
      files: UploadFile[];
      dataset: DatasetId;
      /** The run's uploaded images, when chosen: the first check is on them, not the dataset. */
      images?: { name: string; files: UploadFile[] };
      backend: BackendChoice;
    }
  | { kind: 'inspect-images'; files: UploadFile[] }
  | {
      kind: 'check-teacher';
      teacher: TeacherModel;
      dataset: DatasetId;
      /** Labelled images to measure on instead of the dataset. */
      images?: { name: string; files: UploadFile[] };
      /** Try every preprocessing candidate first and measure with the best. */
      detect: boolean;
      backend: BackendChoice;
    }
  | { kind: 'export-onnx'; model: ModelFiles }
  | {
      kind: 'prediction-changes';
      /** A built-in teacher's id, or an uploaded teacher's files. */
      teacher: string | TeacherModel;
      student: ModelFiles;
      dataset: DatasetId;
      /** The run's test subset: the first N test images (0: all). */
      testExamples: number;
      backend: BackendChoice;
    }
  | {
      kind: 'latency';
      /** The runs' stored students, by run id. */
      students: Record<string, ModelFiles>;
      /** Their teachers, each once, by teacher id: a built-in id or an uploaded teacher's files. */
      teachers: Record<string, string | TeacherModel>;
      /** The page's backend choice: switched to when no run holds the worker's backend. */
      backend: BackendChoice;
    };

export interface TaskResults {
  'import-teacher': ImportedTeacher;
  'check-teacher': TeacherCheck;
  'inspect-images': ImageSetSummary;
  'export-onnx': Uint8Array;
  'prediction-changes': PredictionChangesResult;
  latency: LatencyResult;
}

/** An error as it crosses postMessage (which drops the class): ClabError's toJSON shape. */
export interface RunError {
  name: string;
  message: string;
  /** What to do about it (ClabError.hint). */
  hint?: string;
  code?: string;
}

/** Page → worker. `id` is the run's id, or the request's for `catalog` and `task`. */
export type ToWorker =
  /**
   * The first request to a fresh worker. `storeStudents`: the page keeps its runs in IndexedDB,
   * so the worker may store students there itself (worker/students.ts).
   */
  | { kind: 'catalog'; id: string; testMethods: boolean; storeStudents: boolean }
  /** `teacher` comes with runs of an uploaded teacher (the worker keeps no models). */
  | {
      kind: 'start';
      id: string;
      config: RunConfig;
      teacher?: TeacherModel;
      /** The images of `config.shots`. */
      shots?: UploadFile[];
      /** Go on from this checkpoint: the student after `step` steps, trained for the rest. */
      checkpoint?: { step: number; student: StudentFiles };
    }
  | { kind: 'task'; id: string; task: WorkerTask }
  | { kind: 'pause'; id: string }
  /** A paused run goes on to its next reported step and pauses again (step mode). */
  | { kind: 'step'; id: string }
  | { kind: 'resume'; id: string }
  /** New values of live parameters for a running or paused run, from its next step on. */
  | { kind: 'set-params'; id: string; params: ParamSettings }
  | { kind: 'stop'; id: string };

/** Worker → page. Every run message carries the run's id. */
export type FromWorker =
  | { kind: 'catalog'; id: string; catalog: Catalog }
  | { kind: 'catalog-failed'; id: string; error: RunError }
  | { kind: 'task-done'; id: string; result: TaskResults[WorkerTask['kind']] }
  | { kind: 'task-failed'; id: string; error: RunError }
  | { kind: 'started'; id: string }
  /** The backend the run uses, and why (after 'auto' has timed the candidates). */
  | { kind: 'backend'; id: string; backend: BackendInfo }
  /** The networks' summaries, and the test set's class names (views name classes with them). */
  | {
      kind: 'models';
      id: string;
      teacher: ModelStats;
      student: ModelStats;
      classNames: string[];
    }
  /** A batch of the run's events, posted at most every ~100 ms; typed arrays are transferred. */
  | { kind: 'events'; id: string; events: RunEvent[] }
  | { kind: 'paused'; id: string }
  | { kind: 'resumed'; id: string }
  /** A set-params took effect before `step` (a schedule's entries are answered so too). */
  | { kind: 'params-set'; id: string; step: number; params: ParamSettings }
  /** A set-params that cannot be made: why. */
  | { kind: 'params-refused'; id: string; message: string }
  /**
   * `student`, here and in a checkpoint: the files, where the worker could not store them in
   * IndexedDB itself (worker/students.ts) and the page must.
   */
  | { kind: 'finished'; id: string; result: RunResult; student?: StudentFiles }
  /** The student as it was at `step`: kept, so a run cut off still leaves a student. */
  | { kind: 'student-checkpoint'; id: string; step: number; student?: StudentFiles }
  /** Stopped while still queued: it never ran. */
  | { kind: 'cancelled'; id: string }
  | { kind: 'failed'; id: string; error: RunError };
