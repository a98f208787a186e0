// The typed messages between the page and the run worker. Type-only: the page imports this and
// core's types, never core's code, so TensorFlow.js stays in the worker chunk.
import type { DataNeed, MethodPreset, RunEvent, RunResult, ParamSchema } from '../core/methods';
import type { DatasetId } from '../core/data';
import type { GraphStats } from '../core/graph';
import type { BackendChoice, BackendInfo, BackendName } from '../core/runtime/backend';
import type { serializeGraph } from '../core/io';

export type { BackendChoice, BackendInfo, BackendName, DatasetId, RunEvent, RunResult };

/** What a run is made of; also what the URL hash and the export file carry. */
export interface RunConfig {
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
}

export interface TeacherInfo {
  id: string;
  title: string;
  arch: string;
  dataset: DatasetId;
  /** public/models/<id>/model.json exists (the teachers are trained by a script). */
  available: boolean;
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
}

/** The student as TF.js Layers files: model.json text and its one weight shard. */
export type StudentFiles = Awaited<ReturnType<typeof serializeGraph>>;

/** An error as it crosses postMessage (which drops the class): ClabError's toJSON shape. */
export interface RunError {
  name: string;
  message: string;
  /** What to do about it (ClabError.hint). */
  hint?: string;
  code?: string;
}

/** Page → worker. `id` is the run's id, or the request's for `catalog`. */
export type ToWorker =
  | { kind: 'catalog'; id: string; testMethods: boolean }
  | { kind: 'start'; id: string; config: RunConfig }
  | { kind: 'pause'; id: string }
  | { kind: 'resume'; id: string }
  | { kind: 'stop'; id: string };

/** Worker → page. Every run message carries the run's id. */
export type FromWorker =
  | { kind: 'catalog'; id: string; catalog: Catalog }
  | { kind: 'catalog-failed'; id: string; error: RunError }
  | { kind: 'started'; id: string }
  /** The backend the run uses, and why (after 'auto' has timed the candidates). */
  | { kind: 'backend'; id: string; backend: BackendInfo }
  | { kind: 'models'; id: string; teacher: ModelStats; student: ModelStats }
  /** A batch of the run's events, posted at most every ~100 ms; typed arrays are transferred. */
  | { kind: 'events'; id: string; events: RunEvent[] }
  | { kind: 'paused'; id: string }
  | { kind: 'resumed'; id: string }
  | { kind: 'finished'; id: string; result: RunResult; student: StudentFiles }
  /** Stopped while still queued: it never ran. */
  | { kind: 'cancelled'; id: string }
  | { kind: 'failed'; id: string; error: RunError };
