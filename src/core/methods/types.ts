import type { Dataset } from '../data';
import type { Graph } from '../graph';
import type { BackendInfo } from '../runtime/backend';
import type { Rng } from '../runtime/rng';
import type { MethodState, SavedState } from './method-state';
import type { ParamSchema, ParamSettings, ParamValues } from './params';

/**
 * The one stream a run produces: the worker batches it to the page, the CLI prints it, the
 * store down-samples it and IndexedDB keeps it. Few kinds, each plain data (typed arrays are
 * transferred, not copied).
 */
export type RunEvent =
  | { kind: 'scalar'; key: string; step: number; value: number }
  | { kind: 'layers'; key: string; step: number; labels: string[]; values: number[] }
  | {
      kind: 'images';
      key: string;
      step: number;
      width: number;
      height: number;
      channels: number;
      /** count·height·width·channels bytes, row-major NHWC. */
      pixels: Uint8Array;
      captions?: string[];
    }
  | {
      kind: 'embedding';
      key: string;
      step: number;
      /** Two coordinates per point. */
      points: Float32Array;
      /** Each point's true class. */
      labels: Int32Array;
      /** Each point's group, an index into `groupNames` (e.g. clean, FGSM, PGD). */
      groups?: Int32Array;
      groupNames?: string[];
      /** The model's predicted class for each point. */
      predictions?: Int32Array;
      /** One image per point, shown on hover: count·height·width·channels bytes, NHWC. */
      images?: { width: number; height: number; channels: number; pixels: Uint8Array };
      /**
       * Per point, the channel mask of every gated layer (its path through a dynamic network):
       * `values` holds count·Σwidths numbers, each point's layers concatenated in `layers` order.
       */
      gates?: { layers: string[]; widths: number[]; values: Float32Array };
    }
  /** Curves on shared axes, e.g. ROC curves (false- against true-positive rate) per detector. */
  | {
      kind: 'curve';
      key: string;
      step: number;
      xLabel: string;
      yLabel: string;
      series: { name: string; x: number[]; y: number[] }[];
    }
  | { kind: 'table'; key: string; columns: string[]; rows: (string | number)[][] }
  | { kind: 'log'; level: 'info' | 'warn'; message: string }
  | { kind: 'progress'; step: number; total: number; phase?: string }
  /** Live parameters changed before `step` (the page marks it on the charts with `label`). */
  | {
      kind: 'params';
      step: number;
      params: ParamSettings;
      previous: ParamSettings;
      label: string;
    }
  | { kind: 'checkpoint'; step: number; metrics: Record<string, number> };

export type DataNeed = 'full' | 'few-shot' | 'none';

/** What a method receives: everything is prepared by the runner, the same in Worker and Node. */
export interface RunContext {
  teacher: Graph;
  /** A fresh student (derived from the teacher or a zoo architecture), when the method needs one. */
  student: Graph;
  train: Dataset;
  test: Dataset;
  rng: Rng;
  backend: BackendInfo;
  /** Total optimisation steps the user allowed (the `--steps` budget). */
  steps: number;
  /**
   * Set when the student comes from a checkpoint taken after this many of `steps` (only for a
   * method whose `resume` allows it): train the remaining steps and number events from here + 1.
   */
  resumeFrom?: number;
  /**
   * A method with live parameters calls this before each optimisation step (numbered as its
   * events are): due changes are then written into its params object, which it reads per step.
   */
  paramsAt(step: number): void;
  /**
   * A method that trains another network than `student` (a gated copy, a network pruned anew)
   * names it here as it starts training it, or undefined while nothing it trains is a usable
   * student yet, so that checkpoints hold what is being trained. `state`: the variables beyond
   * the student that its checkpoints must keep too, for the method to go on from them.
   */
  training(student: Graph | undefined, state?: MethodState): void;
  /**
   * With `resumeFrom`: the state the method named at that checkpoint, to write back into its
   * variables (restoreState) before it goes on.
   */
  resumeState?: SavedState;
  /**
   * Whether the user is advancing one step at a time: then every step's losses are read and
   * reported (a read is a sync with the backend, so otherwise only every few steps).
   */
  stepping(): boolean;
}

export interface MethodResult {
  /** The compressed network; the runner evaluates and exports it. */
  student: Graph;
  /** Method-specific final numbers (e.g. final losses); accuracy etc. are added by the runner. */
  metrics?: Record<string, number>;
}

/**
 * A named set of parameter values and a step budget, e.g. the paper's full schedule beside the
 * default that finishes in one sitting. Explicit values given with a preset win over it.
 */
export interface MethodPreset {
  title: string;
  description: string;
  steps: number;
  params: Record<string, number | string | boolean>;
}

export interface MethodSpec<S extends ParamSchema = ParamSchema> {
  id: string;
  title: string;
  paper: string;
  summary: string;
  needs: { teacher: boolean; data: DataNeed };
  /** The student when the user names none: the teacher at half width, or a copy to compress. */
  defaultStudent: 'half' | 'copy';
  /** Default optimisation steps when the user gives no budget. */
  defaultSteps: number;
  params: S;
  /** Alternatives to the defaults by name; `default` is implied by the schema and defaultSteps. */
  presets?: Record<string, MethodPreset>;
  resume: ResumeSupport;
  /** Yields events while it trains; between yields the runner may pause or stop it. */
  run(ctx: RunContext, params: ParamValues<S>): AsyncGenerator<RunEvent, MethodResult, void>;
}

/**
 * Whether a run cut off at a checkpoint can go on from it. A checkpoint holds the student's
 * weights and the state the method named (RunContext.training), so a method whose training
 * state is those (its optimisers' moments aside, which restart) can; any other says why not,
 * in words the page shows.
 */
export type ResumeSupport = { resumable: true } | { resumable: false; reason: string };

/** A MethodSpec with its parameter types erased, as the registry lists them. */
export type AnyMethodSpec = MethodSpec<ParamSchema>;
