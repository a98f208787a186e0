// The page's one store (zustand), built by a factory so tests make their own with a fake worker
// and an in-memory database. Data flows one way: actions → worker; worker messages → runs →
// charts and IndexedDB.
import { createStore, type StoreApi } from 'zustand/vanilla';
import type { RunWorker } from '../../worker/client';
import type {
  Catalog,
  DatasetId,
  FromWorker,
  RunConfig,
  RunError,
  ImageSetSummary,
  PredictionChangesResult,
  StudentFiles,
  TaskResults,
  TeacherModel,
  UploadFile,
  WorkerTask,
} from '../../worker/protocol';
import { configFromRecipe, parseRecipeText } from '../../core/experiments/recipe';
import { liveParamsError, type ParamSettings } from '../../core/methods/params';
import { decodeArchive, encodeArchive, type ArchiveEntry } from './archive';
import { configErrors, methodDefaults } from './config';
import type { RunDb } from './db';
import { configFromHash } from './hash';
import {
  ACTIVE,
  applyMessage,
  interrupt,
  latencyUnavailable,
  newestFirst,
  newRun,
  resumability,
  resumedRun,
  withLatency,
  type RunRecord,
} from './runs';
import {
  cellRunConfig,
  collectSweeps,
  draftFromSweep,
  initialDraft,
  parseSweepFile,
  resolveSweep,
  type SweepConfig,
  type SweepDraft,
} from './sweeps';
import {
  isUploadedTeacher,
  UPLOAD_PREFIX,
  uploadedTeacher,
  withUploads,
  type UploadedTeacher,
} from './teachers';

/** Labelled images uploaded in this browser; their files are in IndexedDB (`RunDb.imageFiles`). */
export interface ImageSet extends ImageSetSummary {
  id: string;
  createdAt: number;
}

export interface Notice {
  kind: 'info' | 'error';
  text: string;
  /** What to do about it (a ClabError's hint). */
  hint?: string;
}

/** A worker task's failure as a thrown error: the RunError it carried, message and hint. */
export class TaskFailed extends Error {
  constructor(readonly error: RunError) {
    super(error.message);
    this.name = error.name;
  }
}

export interface WorkbenchState {
  catalog?: Catalog;
  catalogError?: RunError;
  /** The configuration panel's draft; set once the catalog is known. */
  config?: RunConfig;
  /** Controls hidden by `_hide` keys in the URL hash. */
  hidden: ReadonlySet<string>;
  runs: Record<string, RunRecord>;
  /** Run ids, newest first. */
  order: string[];
  selectedId?: string;
  /** The runs have been read from IndexedDB. */
  loaded: boolean;
  notice?: Notice;
  /** The right panel's tab: one run, or a sweep of runs. */
  panel: 'run' | 'sweep';
  /** The sweep form; made from the run configuration when the Sweep tab first opens. */
  sweepDraft?: SweepDraft;
  /** A loaded sweep file the form cannot show (per-method overrides, …): it runs as written. */
  sweepFile?: SweepConfig;
  /** The sweep whose results the middle shows (instead of the selected run). */
  selectedSweepId?: string;
  /** Runs ticked for comparison, in the order ticked. */
  compared: string[];
  /** The middle shows the comparison of the ticked runs. */
  comparing: boolean;
  /** The middle shows the gallery of ready demos. */
  showingDemos: boolean;
  /** Teachers uploaded in this browser, by id ('upload:…'); the catalog lists them too. */
  teachers: Record<string, UploadedTeacher>;
  /** The uploaded teacher the middle shows (before a sweep or a run). */
  selectedTeacherId?: string;
  /** What the worker is doing for the teacher upload or view ('Reading 2 files…'), if anything. */
  teacherTask?: string;
  /** Uploaded labelled images by id ('images:…'), for `RunConfig.shots`. */
  imageSets: Record<string, ImageSet>;
  /** What the worker is doing with uploaded images, if anything. */
  imagesTask?: string;

  setConfig(patch: Partial<Omit<RunConfig, 'params'>>): void;
  setParam(key: string, value: unknown): void;
  /** Loads a run's configuration into the panel (to re-run or vary it). */
  adoptConfig(config: RunConfig): void;
  /** Queues a run of the current config; returns its id, or undefined when the config is invalid. */
  startRun(): string | undefined;
  pause(id: string): void;
  resume(id: string): void;
  /** A paused run advances to its next reported step and pauses again. */
  step(id: string): void;
  /**
   * New values of live parameters for a running or paused run, made at its next step; returns
   * why they cannot be made (nothing is sent then), or undefined.
   */
  setRunParams(id: string, params: ParamSettings): string | undefined;
  stop(id: string): void;
  /** Queues a run that ended unfinished to go on from its checkpoint (see `resumability`). */
  resumeFromCheckpoint(id: string): void;
  select(id: string): void;
  /** Ticks or unticks a run for comparison. */
  toggleCompared(id: string): void;
  /** Shows the comparison of the ticked runs (two or more), or leaves it with `false`. */
  showComparison(show: boolean): void;
  clearCompared(): void;
  showDemos(show: boolean): void;
  /**
   * Puts the configuration a link's hash describes (with its hidden controls) into the run form,
   * as a demo does; with `run`, starts it too.
   */
  openHash(hash: string, run?: boolean): void;
  remove(id: string): Promise<void>;
  /** The export file's text for the given runs (default: all). */
  exportRuns(ids?: string[]): Promise<string>;
  /** Adds (or replaces, by id) the runs of an export file; returns how many. */
  importRuns(text: string): Promise<number>;
  studentFiles(id: string): Promise<StudentFiles | undefined>;
  dismissNotice(): void;

  /** Imports a model (TF.js Layers files, one .onnx, or a .zip) as a teacher; returns its id. */
  importTeacher(files: UploadFile[]): Promise<string | undefined>;
  /** Reads a folder (or .zip) of class folders of images and makes it the run's few-shot data. */
  importImages(files: UploadFile[]): Promise<string | undefined>;
  /**
   * Measures an uploaded teacher on a built-in dataset or an uploaded image set (by id),
   * detecting its preprocessing first when asked.
   */
  checkTeacher(id: string, data: DatasetId | string, detect: boolean): Promise<void>;
  selectTeacher(id: string): void;
  removeTeacher(id: string): Promise<void>;
  /** Deletes an uploaded image set; runs and sweeps that used it keep their results. */
  removeImageSet(id: string): Promise<void>;
  /**
   * A finished run's student against its teacher on the run's test images: both confusion
   * matrices and the images compression flipped (computed in the worker).
   */
  predictionChanges(id: string): Promise<PredictionChangesResult | undefined>;
  /**
   * Times the runs' stored students and their teachers (batch 1 and batch 64) on the run form's
   * backend and keeps the result in each run, beside earlier measurements on other backends.
   */
  measureLatency(ids: string[]): Promise<void>;
  /** A finished run's student as an ONNX file (converted in the worker). */
  studentOnnx(id: string): Promise<Uint8Array | undefined>;

  setPanel(panel: 'run' | 'sweep'): void;
  setSweepDraft(patch: Partial<SweepDraft>): void;
  /**
   * Loads a sweep file (the JSON `npx clab sweep` reads) into the form, or as written when the
   * form cannot show it; returns what is wrong with the text, or undefined.
   */
  loadSweep(text: string): string | undefined;
  /**
   * Loads a recipe file (or a run report, which carries one) into the run form through
   * adoptConfig; returns what is wrong with the text, or undefined.
   */
  loadRecipe(text: string, name?: string): string | undefined;
  /** Leaves the loaded file for the form (what the form cannot show is dropped). */
  clearSweepFile(): void;
  /** Queues every cell of the panel's sweep as a run; returns the sweep's id, or undefined. */
  startSweep(): string | undefined;
  selectSweep(id: string): void;
  /** Stops the sweep's running run and cancels its queued ones. */
  stopSweep(id: string): void;
  /** Runs again the cells whose run failed, stopped or was interrupted. */
  rerunSweep(id: string): void;
  removeSweep(id: string): Promise<void>;
}

export interface WorkbenchDeps {
  db: RunDb;
  /** Starts the worker; it calls back with every message and after a crash (already respawned). */
  connect(handlers: {
    onMessage(message: FromWorker): void;
    onCrash(reason: string): void;
  }): RunWorker;
  /** The URL hash at start-up: the initial configuration. */
  hash?: string;
  now?: () => number;
  newId?: () => string;
}

export type WorkbenchStore = StoreApi<WorkbenchState>;

/** Streaming runs are saved at most this often; status changes are saved at once. */
const SAVE_EVERY_MS = 1000;

export function createWorkbenchStore(deps: WorkbenchDeps): WorkbenchStore {
  const now = deps.now ?? Date.now;
  const newId = deps.newId ?? (() => crypto.randomUUID());
  const { db } = deps;

  return createStore<WorkbenchState>()((set, get) => {
    const fail = (what: string) => (e: unknown) =>
      set({
        notice: {
          kind: 'error',
          text: `${what}: ${(e as Error).message ?? String(e)}`,
          hint: e instanceof TaskFailed ? e.error.hint : undefined,
        },
      });

    // Tasks beside runs (imports, checks, exports): answered by id, rejected if the worker dies.
    const tasks = new Map<string, { resolve(result: unknown): void; reject(e: Error): void }>();
    const request = <K extends WorkerTask['kind']>(
      task: Extract<WorkerTask, { kind: K }>,
    ): Promise<TaskResults[K]> =>
      new Promise((resolve, reject) => {
        const id = newId();
        tasks.set(id, { resolve: resolve as (result: unknown) => void, reject });
        worker.send({ kind: 'task', id, task });
      });

    /** A run's teacher as tasks take it: a built-in id, or an uploaded one's files from IndexedDB. */
    const taskTeacher = async (id: string): Promise<string | TeacherModel> => {
      if (!isUploadedTeacher(id)) return id;
      const upload = get().teachers[id];
      const files = upload && (await db.teacherFiles(upload.id));
      if (!files) throw new Error('its uploaded teacher is no longer in this browser');
      return { files, preprocessing: upload.preprocessing };
    };

    /** The worker's own catalog; the state's adds the uploaded teachers. */
    let workerCatalog: Catalog | undefined;
    const setTeachers = (teachers: Record<string, UploadedTeacher>) =>
      set({ teachers, catalog: workerCatalog && withUploads(workerCatalog, teachers) });

    const dirty = new Set<string>();
    let saveTimer: ReturnType<typeof setTimeout> | undefined;
    const saveNow = (id: string) => {
      dirty.delete(id);
      const run = get().runs[id];
      if (run) db.put(run).catch(fail('Saving the run failed'));
    };
    const saveSoon = (id: string) => {
      dirty.add(id);
      saveTimer ??= setTimeout(() => {
        saveTimer = undefined;
        for (const d of [...dirty]) saveNow(d);
      }, SAVE_EVERY_MS);
    };

    const putRun = (run: RunRecord) =>
      set((s) => ({
        runs: { ...s.runs, [run.id]: run },
        order: s.order.includes(run.id) ? s.order : [run.id, ...s.order],
      }));

    const onMessage = (msg: FromWorker) => {
      if (msg.kind === 'catalog') {
        workerCatalog = msg.catalog;
        const catalog = withUploads(msg.catalog, get().teachers);
        // A respawned worker sends the catalog again; keep the user's draft.
        if (get().config) return set({ catalog });
        const { config, hidden } = configFromHash(deps.hash ?? '', catalog);
        return set({ catalog, config, hidden, catalogError: undefined });
      }
      if (msg.kind === 'catalog-failed') return set({ catalogError: msg.error });
      if (msg.kind === 'task-done' || msg.kind === 'task-failed') {
        const task = tasks.get(msg.id);
        tasks.delete(msg.id);
        if (msg.kind === 'task-done') task?.resolve(msg.result);
        else task?.reject(new TaskFailed(msg.error));
        return;
      }
      const run = get().runs[msg.id];
      if (!run) {
        // Deleted while the worker still talked about it; a student it stored goes too.
        if (msg.kind === 'finished' || msg.kind === 'student-checkpoint') {
          db.delete(msg.id).catch(fail('Deleting the run failed'));
        }
        return;
      }
      const next = applyMessage(run, msg, now());
      putRun(next);
      if (msg.kind === 'params-refused') {
        set({ notice: { kind: 'error', text: `Parameters not changed: ${msg.message}.` } });
      }
      // The worker stores students itself where it can (worker/students.ts).
      if ((msg.kind === 'finished' || msg.kind === 'student-checkpoint') && msg.student) {
        db.putStudent(msg.id, msg.student).catch(fail('Saving the student failed'));
      }
      if (msg.kind === 'events') saveSoon(msg.id);
      else saveNow(msg.id);
    };

    // Runs of an uploaded teacher or on uploaded images carry their files, and resumed runs
    // their checkpoint, read from IndexedDB first; while a read is pending, later starts wait
    // behind it so the worker queues runs in the order they were made.
    let reading: Promise<void> | undefined;
    const sendStart = (run: RunRecord) => {
      const { id, config, resumedFrom } = run;
      const upload = isUploadedTeacher(config.teacher) ? get().teachers[config.teacher] : undefined;
      const send = (teacher?: TeacherModel, shots?: UploadFile[], student?: StudentFiles) =>
        worker.send({
          kind: 'start',
          id,
          config,
          ...(teacher && { teacher }),
          ...(shots && { shots }),
          ...(student && { checkpoint: { step: resumedFrom!, student } }),
        });
      if (!upload && !config.shots && resumedFrom === undefined && !reading) return send();
      const read = (reading ?? Promise.resolve())
        .then(async () => {
          const files = upload && (await db.teacherFiles(upload.id));
          const shots = config.shots ? await db.imageFiles(config.shots) : undefined;
          const student = resumedFrom === undefined ? undefined : await db.student(id);
          if (resumedFrom !== undefined && !student) {
            throw new Error('its checkpoint is no longer in this browser');
          }
          send(files && { files, preprocessing: upload.preprocessing }, shots, student);
        })
        .catch(fail("Reading the run's stored files failed"))
        .finally(() => {
          if (reading === read) reading = undefined;
        });
      reading = read;
    };

    const onCrash = (reason: string) => {
      const runs = Object.values(get().runs).filter((r) => ACTIVE.has(r.status));
      const crash: RunError = {
        name: 'WorkerCrash',
        message: `The run worker crashed: ${reason}`,
        hint: 'A fresh worker has been started; run it again. Queued runs go on.',
      };
      for (const run of runs.filter((r) => r.status !== 'queued')) {
        putRun({ ...interrupt(run, crash), endedAt: now() });
        saveNow(run.id);
      }
      runs
        .filter((r) => r.status === 'queued')
        .sort((a, b) => newestFirst(b, a))
        .forEach(sendStart);
      for (const task of tasks.values()) task.reject(new TaskFailed(crash));
      tasks.clear();
      set({ notice: { kind: 'error', text: crash.message, hint: crash.hint } });
    };

    const worker = deps.connect({ onMessage, onCrash });

    db.teachers()
      .then((stored) =>
        setTeachers({ ...Object.fromEntries(stored.map((t) => [t.id, t])), ...get().teachers }),
      )
      .catch(fail('Reading uploaded teachers failed'));
    db.imageSets()
      .then((stored) =>
        set((s) => ({
          imageSets: { ...Object.fromEntries(stored.map((i) => [i.id, i])), ...s.imageSets },
        })),
      )
      .catch(fail('Reading uploaded images failed'));

    // Whatever was active when the page went away did not finish: it was interrupted.
    db.all()
      .then((stored) => {
        const restored = stored.map((r) => interrupt(r));
        for (const r of restored.filter((r, i) => r !== stored[i])) {
          db.put(r).catch(fail('Saving the interrupted run failed'));
        }
        set((s) => {
          const runs = { ...Object.fromEntries(restored.map((r) => [r.id, r])), ...s.runs };
          const order = Object.values(runs)
            .sort(newestFirst)
            .map((r) => r.id);
          // Open on the newest thing made: a sweep shows its results.
          const newest = s.selectedId ? undefined : runs[order[0]]?.sweep?.id;
          return {
            runs,
            order,
            loaded: true,
            selectedId: s.selectedId ?? order[0],
            selectedSweepId: s.selectedSweepId ?? newest,
          };
        });
      })
      .catch((e: unknown) => {
        set({ loaded: true });
        fail('Reading saved runs failed')(e);
      });

    const control = (kind: 'pause' | 'resume' | 'step' | 'stop') => (id: string) =>
      worker.send({ kind, id });

    /** Queues runs (all at once: one store update, then one save and one start each). */
    const enqueue = (made: RunRecord[]) => {
      set((s) => ({
        runs: { ...s.runs, ...Object.fromEntries(made.map((r) => [r.id, r])) },
        order: [...made.map((r) => r.id).reverse(), ...s.order],
      }));
      for (const run of made) {
        saveNow(run.id);
        sendStart(run);
      }
    };

    const removeRuns = async (ids: string[]) => {
      const gone = new Set(ids.filter((id) => get().runs[id]));
      for (const id of gone) {
        if (ACTIVE.has(get().runs[id].status)) worker.send({ kind: 'stop', id });
        dirty.delete(id);
      }
      set((s) => {
        const runs = { ...s.runs };
        for (const id of gone) delete runs[id];
        const order = s.order.filter((r) => !gone.has(r));
        const selectedId = s.selectedId && gone.has(s.selectedId) ? order[0] : s.selectedId;
        const sweeps = collectSweeps(runs);
        const selectedSweepId =
          s.selectedSweepId && sweeps.has(s.selectedSweepId) ? s.selectedSweepId : undefined;
        const compared = s.compared.filter((id) => !gone.has(id));
        return {
          runs,
          order,
          selectedId,
          selectedSweepId,
          compared,
          comparing: s.comparing && compared.length >= 2,
        };
      });
      for (const id of gone) await db.delete(id).catch(fail('Deleting the run failed'));
    };

    const sweepRuns = (id: string) =>
      Object.values(get().runs)
        .filter((r) => r.sweep?.id === id)
        .sort((a, b) => a.sweep!.index - b.sweep!.index);

    return {
      hidden: new Set(),
      runs: {},
      teachers: {},
      imageSets: {},
      order: [],
      compared: [],
      comparing: false,
      showingDemos: false,
      loaded: false,
      panel: 'run',

      setConfig(patch) {
        const { config, catalog } = get();
        if (!config || !catalog) return;
        const next = { ...config, ...patch };
        const method = catalog.methods.find((m) => m.id === patch.method);
        if (method && patch.method !== config.method) {
          Object.assign(next, methodDefaults(method));
          delete next.schedule; // a loaded recipe's changes belong to its method
        }
        const teacher = catalog.teachers.find((t) => t.id === patch.teacher);
        if (teacher && patch.teacher !== config.teacher) next.dataset = teacher.dataset;
        set({ config: next });
      },

      setParam(key, value) {
        const { config } = get();
        if (config) set({ config: { ...config, params: { ...config.params, [key]: value } } });
      },

      adoptConfig(config) {
        const { catalog } = get();
        if (!catalog?.methods.some((m) => m.id === config.method)) {
          set({ notice: { kind: 'error', text: `This page has no method '${config.method}'.` } });
        } else if (!catalog.teachers.some((t) => t.id === config.teacher)) {
          set({
            notice: {
              kind: 'error',
              text: `This run's teacher '${config.teacher}' is not in this browser.`,
              hint: 'Upload the model again and pick it, or choose another teacher.',
            },
          });
        } else if (config.shots && !get().imageSets[config.shots]) {
          // Its images were deleted: the form shows the dataset instead, and says why.
          const { shots: _gone, shotsAsTest: _asTest, ...rest } = structuredClone(config);
          set({
            config: rest,
            selectedTeacherId: undefined,
            notice: {
              kind: 'info',
              text: `This run's uploaded images were deleted from this browser; the form uses ${config.dataset}'s training images.`,
              hint: 'Upload the images again to run on them.',
            },
          });
        } else {
          set({ config: structuredClone(config), selectedTeacherId: undefined });
        }
      },

      startRun() {
        const { config, catalog } = get();
        if (!config || !catalog || Object.keys(configErrors(config, catalog)).length > 0) return;
        const method = catalog.methods.find((m) => m.id === config.method)!;
        const run = newRun(newId(), structuredClone(config), method.title, now());
        enqueue([run]);
        set({
          selectedId: run.id,
          selectedSweepId: undefined,
          selectedTeacherId: undefined,
          comparing: false,
          showingDemos: false,
        });
        return run.id;
      },

      pause: control('pause'),
      resume: control('resume'),
      step: control('step'),
      stop: control('stop'),

      resumeFromCheckpoint(id) {
        const run = get().runs[id];
        const method = get().catalog?.methods.find((m) => m.id === run?.config.method);
        const option = run && resumability(run, method);
        if (!option || !('step' in option)) return;
        const resumed = resumedRun(run);
        putRun(resumed);
        saveNow(id);
        sendStart(resumed);
        set({ selectedId: id });
      },

      setRunParams(id, params) {
        const run = get().runs[id];
        const method = get().catalog?.methods.find((m) => m.id === run?.config.method);
        if (!run || !method) return 'the run or its method is gone';
        const error = liveParamsError(method.params, params, method.id);
        if (error) return error;
        worker.send({ kind: 'set-params', id, params });
        return undefined;
      },

      select(id) {
        set({
          selectedId: id,
          selectedSweepId: undefined,
          selectedTeacherId: undefined,
          comparing: false,
          showingDemos: false,
        });
      },

      toggleCompared(id) {
        const { compared, comparing } = get();
        const next = compared.includes(id) ? compared.filter((c) => c !== id) : [...compared, id];
        set({ compared: next, comparing: comparing && next.length >= 2 });
      },

      showComparison(show) {
        const comparing = show && get().compared.length >= 2;
        set(
          comparing
            ? { comparing, selectedTeacherId: undefined, showingDemos: false }
            : { comparing },
        );
      },

      clearCompared() {
        set({ compared: [], comparing: false });
      },

      showDemos(show) {
        set({ showingDemos: show });
      },

      openHash(hash, run = false) {
        const { catalog } = get();
        if (!catalog) return;
        const { config, hidden } = configFromHash(hash, catalog);
        set({ config, hidden, panel: 'run', showingDemos: false, comparing: false });
        if (run) get().startRun();
      },

      remove: (id) => removeRuns([id]),

      async exportRuns(ids) {
        const { runs, order } = get();
        const entries: ArchiveEntry[] = [];
        for (const id of ids ?? order) {
          const run = runs[id];
          if (!run) continue;
          entries.push({ run, student: run.hasStudent ? await db.student(id) : undefined });
        }
        return encodeArchive(entries);
      },

      async importRuns(text) {
        let entries: ArchiveEntry[];
        try {
          entries = decodeArchive(text);
        } catch (e) {
          fail('Import failed')(e);
          return 0;
        }
        for (const { run, student } of entries) {
          // An exported run that was still going is over here: nothing runs it.
          const restored = interrupt(run);
          await db.put(restored);
          if (student) await db.putStudent(restored.id, student);
          putRun(restored);
        }
        set((s) => ({
          order: Object.values(s.runs)
            .sort(newestFirst)
            .map((r) => r.id),
          selectedId: s.selectedId ?? entries[0]?.run.id,
          notice: { kind: 'info', text: `Imported ${entries.length} run(s).` },
        }));
        return entries.length;
      },

      studentFiles: (id) => db.student(id),

      loadRecipe(text, name = 'the recipe') {
        const { catalog } = get();
        if (!catalog) return 'The worker has not started yet.';
        let config: RunConfig;
        try {
          config = configFromRecipe(parseRecipeText(text, catalog.methods, name));
        } catch (e) {
          return (e as Error).message;
        }
        if (!catalog.teachers.some((t) => t.id === config.teacher)) {
          return `${name} names the teacher '${config.teacher}', which is not in this browser: upload that model and pick it, or choose another teacher.`;
        }
        get().adoptConfig(config);
        set({ panel: 'run' });
        return undefined;
      },

      dismissNotice() {
        set({ notice: undefined });
      },

      async importTeacher(files) {
        const { config } = get();
        if (!config || files.length === 0) return;
        set({ teacherTask: `Reading ${files.length} file(s)…`, notice: undefined });
        try {
          // The first check is on the run's uploaded images when they are chosen.
          const imageSet = config.shots ? get().imageSets[config.shots] : undefined;
          const images = imageSet && (await db.imageFiles(imageSet.id));
          const imported = await request({
            kind: 'import-teacher',
            files,
            dataset: config.dataset,
            ...(imageSet && images && { images: { name: imageSet.name, files: images } }),
            backend: config.backend,
          });
          const teacher = uploadedTeacher(`${UPLOAD_PREFIX}${newId()}`, now(), imported);
          await db.putTeacher(teacher, imported.files);
          setTeachers({ ...get().teachers, [teacher.id]: teacher });
          get().setConfig({ teacher: teacher.id });
          set({ selectedTeacherId: teacher.id });
          return teacher.id;
        } catch (e) {
          fail('The model could not be imported')(e);
          return undefined;
        } finally {
          set({ teacherTask: undefined });
        }
      },

      async importImages(files) {
        if (files.length === 0) return;
        set({ imagesTask: `Reading ${files.length} file(s)…`, notice: undefined });
        try {
          const summary = await request({ kind: 'inspect-images', files });
          const imageSet: ImageSet = { ...summary, id: `images:${newId()}`, createdAt: now() };
          await db.putImageSet(imageSet, files);
          set({ imageSets: { ...get().imageSets, [imageSet.id]: imageSet } });
          get().setConfig({ shots: imageSet.id });
          return imageSet.id;
        } catch (e) {
          fail('The images could not be used')(e);
          return undefined;
        } finally {
          set({ imagesTask: undefined });
        }
      },

      async checkTeacher(id, data, detect) {
        const { config } = get();
        const teacher = get().teachers[id];
        if (!teacher || !config) return;
        const imageSet = get().imageSets[data];
        const dataset = imageSet ? teacher.check.dataset : (data as DatasetId);
        set({
          teacherTask: detect
            ? 'Detecting preprocessing…'
            : `Measuring on ${imageSet?.name ?? dataset}…`,
        });
        try {
          const files = await db.teacherFiles(id);
          if (!files) throw new Error('its files are no longer stored in this browser');
          const images = imageSet && (await db.imageFiles(imageSet.id));
          if (imageSet && !images) throw new Error(`the images of ${imageSet.name} are gone`);
          const check = await request({
            kind: 'check-teacher',
            teacher: {
              files,
              preprocessing: detect ? teacher.ownPreprocessing : teacher.preprocessing,
            },
            dataset,
            ...(imageSet && { images: { name: imageSet.name, files: images! } }),
            detect,
            backend: config.backend,
          });
          const next = { ...teacher, preprocessing: check.preprocessing, check };
          await db.putTeacher(next);
          setTeachers({ ...get().teachers, [id]: next });
        } catch (e) {
          fail(`Checking ${teacher.name} failed`)(e);
        } finally {
          set({ teacherTask: undefined });
        }
      },

      selectTeacher(id) {
        set({ selectedTeacherId: id, comparing: false });
      },

      async removeTeacher(id) {
        const teachers = { ...get().teachers };
        delete teachers[id];
        setTeachers(teachers);
        const fallback = get().catalog?.teachers.find((t) => t.available);
        if (get().config?.teacher === id && fallback) get().setConfig({ teacher: fallback.id });
        if (get().selectedTeacherId === id) set({ selectedTeacherId: undefined });
        await db.deleteTeacher(id).catch(fail('Deleting the teacher failed'));
      },

      async removeImageSet(id) {
        const { [id]: _gone, ...rest } = get().imageSets;
        set({ imageSets: rest });
        if (get().config?.shots === id)
          get().setConfig({ shots: undefined, shotsAsTest: undefined });
        await db.deleteImageSet(id).catch(fail('Deleting the images failed'));
      },

      async predictionChanges(id) {
        const run = get().runs[id];
        if (!run) return undefined;
        const { config } = run;
        try {
          const student = await db.student(id);
          if (!student) throw new Error('its student is not stored in this browser');
          return await request({
            kind: 'prediction-changes',
            teacher: await taskTeacher(config.teacher),
            student,
            dataset: config.dataset,
            testExamples: config.testExamples,
            backend: config.backend,
          });
        } catch (e) {
          fail('Comparing the predictions failed')(e);
          return undefined;
        }
      },

      async measureLatency(ids) {
        const runs = ids.map((id) => get().runs[id]).filter((r) => r && !latencyUnavailable(r));
        if (!runs.length) return;
        try {
          const students: Record<string, StudentFiles> = {};
          const teachers: Record<string, string | TeacherModel> = {};
          for (const { id, config } of runs) {
            const student = await db.student(id);
            if (student) students[id] = student;
            teachers[config.teacher] ??= await taskTeacher(config.teacher);
          }
          const measured = await request({
            kind: 'latency',
            students,
            teachers,
            backend: get().config?.backend ?? 'auto',
          });
          const at = now();
          for (const { id, config } of runs) {
            const run = get().runs[id];
            if (!run) continue; // deleted while it was measured
            putRun({
              ...run,
              latency: withLatency(run.latency, measured.students[id], at),
              teacherLatency: withLatency(
                run.teacherLatency,
                measured.teachers[config.teacher],
                at,
              ),
            });
            saveNow(id);
          }
        } catch (e) {
          fail('Measuring latency failed')(e);
        }
      },

      async studentOnnx(id) {
        try {
          const model = await db.student(id);
          return model && (await request({ kind: 'export-onnx', model }));
        } catch (e) {
          fail('The ONNX export failed')(e);
          return undefined;
        }
      },

      setPanel(panel) {
        const { config, catalog, sweepDraft } = get();
        if (panel === 'sweep' && !sweepDraft && config && catalog) {
          set({ sweepDraft: initialDraft(config, catalog) });
        }
        set({ panel });
      },

      setSweepDraft(patch) {
        const { sweepDraft } = get();
        if (sweepDraft) set({ sweepDraft: { ...sweepDraft, ...patch } });
      },

      loadSweep(text) {
        const { config, catalog } = get();
        if (!config || !catalog) return 'The worker has not started yet.';
        let sweep: SweepConfig;
        try {
          sweep = parseSweepFile(text);
        } catch (e) {
          return (e as Error).message;
        }
        const form = draftFromSweep(sweep, catalog, config);
        if (form) {
          set({ config: form.config, sweepDraft: form.draft, sweepFile: undefined });
        } else {
          set({ sweepFile: sweep, sweepDraft: get().sweepDraft ?? initialDraft(config, catalog) });
        }
        set({ panel: 'sweep' });
        return undefined;
      },

      clearSweepFile() {
        set({ sweepFile: undefined });
      },

      startSweep() {
        const { config, catalog, sweepDraft, sweepFile } = get();
        if (!config || !catalog || !sweepDraft) return;
        const imageSets = new Set(Object.keys(get().imageSets));
        const { sweep, cells } = resolveSweep(catalog, config, sweepDraft, sweepFile, imageSets);
        if (!sweep || !cells) return;
        const id = newId();
        const t = now();
        const made = cells.map((cell, index) => {
          const method = catalog.methods.find((m) => m.id === cell.method)!;
          const runConfig = cellRunConfig(sweep, cell, method, config.backend);
          const run = newRun(newId(), runConfig, method.title, t);
          run.sweep = { id, index, total: cells.length, cell, config: structuredClone(sweep) };
          return run;
        });
        enqueue(made);
        set({
          selectedSweepId: id,
          selectedId: made[0]?.id,
          selectedTeacherId: undefined,
          comparing: false,
        });
        return id;
      },

      selectSweep(id) {
        set({
          selectedSweepId: id,
          selectedTeacherId: undefined,
          comparing: false,
          showingDemos: false,
        });
      },

      stopSweep(id) {
        // The queued ones first, so none of them starts when the running one ends.
        const active = sweepRuns(id).filter((r) => ACTIVE.has(r.status));
        const queued = active.filter((r) => r.status === 'queued');
        for (const run of [...queued, ...active.filter((r) => r.status !== 'queued')]) {
          worker.send({ kind: 'stop', id: run.id });
        }
      },

      rerunSweep(id) {
        const runs = sweepRuns(id);
        const again = runs.filter((r) => r.status !== 'done' && !ACTIVE.has(r.status));
        if (!again.length) return;
        const t = now();
        const made = again.map((r) => ({
          ...newRun(newId(), structuredClone(r.config), r.methodTitle, t),
          sweep: r.sweep,
        }));
        void removeRuns(again.map((r) => r.id));
        enqueue(made);
        set({ selectedSweepId: id });
      },

      removeSweep: (id) => removeRuns(sweepRuns(id).map((r) => r.id)),
    };
  });
}
