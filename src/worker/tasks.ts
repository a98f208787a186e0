// The worker's work beside runs: importing an uploaded model, measuring a teacher on a built-in
// dataset or uploaded images (and detecting its preprocessing), exporting a student as ONNX,
// comparing a student's predictions with its teacher's, and timing inference. Every graph made
// here is disposed before the answer goes back; only plain data and buffers cross.
import {
  firstExamples,
  loadDataset,
  spreadExamples,
  type Dataset,
  type DatasetId,
  type Split,
} from '../core/data';
import { disposeGraph, inferShapes, type Graph } from '../core/graph';
import { graphFromUpload, serializeGraph } from '../core/io';
import { graphToOnnx } from '../core/io/onnx';
import {
  accuracy,
  confusionMatrix,
  detectPreprocessing,
  inputOptions,
  predictionChanges,
  predictions,
  timeInference,
} from '../core/metrics';
import { ClabError, InvalidModelError } from '../core/runtime/errors';
import { inspectImages, labelledImages, readUploads } from './images';
import { graphFromFiles, teacherFromModel } from './models';
import { loadTeacher } from '../core/zoo';
import type {
  ImportedTeacher,
  InferenceLatency,
  LatencyResult,
  PredictionChangesResult,
  TaskResults,
  TeacherCheck,
  TeacherModel,
  UploadFile,
  WorkerTask,
} from './protocol';
import { measuringBackend, sharedBackend, stats, toRunError } from './run';

/** Labelled training images each preprocessing candidate is tried on (as `clab --preprocessing detect`). */
const DETECTION_SAMPLES = 500;
/** Test images the teacher's accuracy is measured on: a sanity check, not a benchmark. */
const CHECK_EXAMPLES = 2000;

/** Uses a graph and disposes it, whatever happens. */
async function using<T>(g: Graph, use: (g: Graph) => Promise<T>): Promise<T> {
  try {
    return await use(g);
  } finally {
    disposeGraph(g);
  }
}

/** Labelled data to check a teacher on: detection samples and test examples. */
interface CheckData {
  /** What the check names: the dataset, or the uploaded images' name. */
  title: string;
  samples(): Promise<Dataset>;
  test(): Promise<Dataset>;
}

/** A built-in dataset: detection on its first training images, accuracy on its first test images. */
function builtInData(dataset: DatasetId): CheckData {
  return {
    title: dataset,
    samples: () => firstFetched(dataset, 'train', DETECTION_SAMPLES),
    test: () => firstFetched(dataset, 'test', CHECK_EXAMPLES),
  };
}

/** The first `n` images of a built-in split, fetched. */
async function firstFetched(dataset: DatasetId, split: Split, n: number): Promise<Dataset> {
  const first = firstExamples(await loadDataset(dataset, split), n);
  await first.ensure?.();
  return first;
}

/**
 * Uploaded labelled images, decoded to the teacher's input: detection and accuracy on the same
 * images (they are all the labels there are), spread over every class.
 */
function uploadedData(images: { name: string; files: UploadFile[] }, g: Graph): CheckData {
  const decoded = labelledImages(images.files, g);
  return {
    title: images.name,
    samples: async () => spreadExamples(await decoded, DETECTION_SAMPLES),
    test: async () => spreadExamples(await decoded, CHECK_EXAMPLES),
  };
}

/**
 * The teacher's accuracy on labelled test images, after detecting its preprocessing on labelled
 * samples when asked; a model whose input or classes do not fit the data says why.
 */
async function checkTeacher(
  g: Graph,
  dataset: DatasetId,
  data: CheckData,
  detect: boolean,
): Promise<TeacherCheck> {
  const check: TeacherCheck = { dataset, preprocessing: g.preprocessing, examples: 0 };
  if (data.title !== dataset) check.images = data.title;
  const classes = inferShapes(g).get(g.output)!.at(-1)!;
  let test: Dataset;
  try {
    test = await data.test();
    check.examples = test.count;
    inputOptions(g, test);
    if (classes !== test.numClasses) {
      throw new InvalidModelError(
        `'${g.name}' has ${classes} outputs but ${data.title} has ${test.numClasses} classes`,
        'Measure it on data with as many classes as the model has outputs.',
      );
    }
  } catch (e) {
    if (!(e instanceof ClabError)) throw e;
    return { ...check, misfit: toRunError(e) };
  }
  if (detect) {
    const samples = await data.samples();
    const detection = await detectPreprocessing(g, samples);
    g.preprocessing = detection.best.preprocessing;
    check.preprocessing = g.preprocessing;
    check.detection = {
      samples: samples.count,
      trials: detection.trials,
      chosen: detection.trials.indexOf(detection.best),
    };
  }
  check.accuracy = await accuracy(g, test);
  return check;
}

async function importTeacher(
  task: Extract<WorkerTask, { kind: 'import-teacher' }>,
): Promise<ImportedTeacher> {
  const uploads = await readUploads(task.files);
  await sharedBackend(task.backend);
  const { graph, format, names } = await graphFromUpload(uploads);
  return using(graph, async (g) => ({
    name: g.name,
    format,
    sourceFiles: names,
    stats: await stats(g),
    inputShape: g.inputShape,
    classes: inferShapes(g).get(g.output)!.at(-1)!,
    files: await serializeGraph(g, { shardName: `${g.name}.weights.bin` }),
    check: await checkTeacher(
      g,
      task.dataset,
      task.images ? uploadedData(task.images, g) : builtInData(task.dataset),
      false,
    ),
  }));
}

/** A run's teacher as the page sends it: a built-in id, or an uploaded teacher's files. */
const teacherGraph = (teacher: string | TeacherModel): Promise<Graph> =>
  typeof teacher === 'string' ? loadTeacher(teacher) : teacherFromModel(teacher);

/** Flipped images shown at most. */
const MAX_FLIPPED_SHOWN = 40;

/** The teacher against a run's student on the run's test images (see PredictionChangesResult). */
async function comparePredictions(
  task: Extract<WorkerTask, { kind: 'prediction-changes' }>,
): Promise<PredictionChangesResult> {
  const [teacher, student, all] = await Promise.all([
    teacherGraph(task.teacher),
    graphFromFiles(task.student),
    loadDataset(task.dataset, 'test'),
  ]);
  return using(teacher, () =>
    using(student, async () => {
      const test = task.testExamples ? firstExamples(all, task.testExamples) : all;
      const [t, s] = [await predictions(teacher, test), await predictions(student, test)];
      const { flipped, rescued } = predictionChanges(test.labels, t, s);
      const shown = flipped.slice(0, MAX_FLIPPED_SHOWN);
      const size = test.height * test.width * test.channels;
      const pixels = new Uint8Array(shown.length * size);
      shown.forEach((k, i) => pixels.set(test.pixels.subarray(k * size, (k + 1) * size), i * size));
      const name = (c: number) => test.classNames[c] ?? String(c);
      return {
        classNames: [...test.classNames],
        examples: test.count,
        teacher: confusionMatrix(test.labels, t, test.numClasses),
        student: confusionMatrix(test.labels, s, test.numClasses),
        flipped: flipped.length,
        rescued: rescued.length,
        images: {
          width: test.width,
          height: test.height,
          channels: test.channels,
          pixels,
          captions: shown.map((k) => `${name(test.labels[k])} → ${name(s[k])}`),
        },
      };
    }),
  );
}

/** The batch whose per-image time is the throughput cost. */
const THROUGHPUT_BATCH = 64;

/** Median ms of one image alone and per image of a full batch, on the backend in use. */
async function inferenceLatency(
  g: Graph,
  backend: InferenceLatency['backend'],
): Promise<InferenceLatency> {
  const single = await timeInference(g, { batchSize: 1, repeats: 15, warmup: 20 });
  const batch = await timeInference(g, { batchSize: THROUGHPUT_BATCH, repeats: 5, warmup: 2 });
  return { backend, batch1Ms: single.median, perImageMs: batch.median / THROUGHPUT_BATCH };
}

/** Times each student and each teacher in turn: one network in memory at a time. */
async function measureLatency(
  task: Extract<WorkerTask, { kind: 'latency' }>,
): Promise<LatencyResult> {
  const { name } = await measuringBackend(task.backend);
  const timeAll = async <T>(models: Record<string, T>, load: (m: T) => Promise<Graph>) => {
    const timed: Record<string, InferenceLatency> = {};
    for (const [id, model] of Object.entries(models)) {
      timed[id] = await using(await load(model), (g) => inferenceLatency(g, name));
    }
    return timed;
  };
  return {
    students: await timeAll(task.students, graphFromFiles),
    teachers: await timeAll(task.teachers, teacherGraph),
  };
}

/** Does one task; the result's buffers are listed for transfer. */
export async function runTask(
  task: WorkerTask,
): Promise<{ result: TaskResults[WorkerTask['kind']]; transfer: Transferable[] }> {
  switch (task.kind) {
    case 'import-teacher': {
      const teacher = await importTeacher(task);
      return { result: teacher, transfer: [teacher.files.weightData] };
    }
    case 'check-teacher': {
      await sharedBackend(task.backend);
      const check = await using(await teacherFromModel(task.teacher), (g) =>
        checkTeacher(
          g,
          task.dataset,
          task.images ? uploadedData(task.images, g) : builtInData(task.dataset),
          task.detect,
        ),
      );
      return { result: check, transfer: [] };
    }
    case 'inspect-images':
      return { result: await inspectImages(task.files), transfer: [] };
    case 'export-onnx': {
      // Reading weights needs no speed: any backend will do, so never time them for this.
      await sharedBackend('cpu');
      const bytes = await using(await graphFromFiles(task.model), graphToOnnx);
      return { result: bytes, transfer: [bytes.buffer] };
    }
    case 'prediction-changes': {
      await sharedBackend(task.backend);
      const changes = await comparePredictions(task);
      return { result: changes, transfer: [changes.images.pixels.buffer] };
    }
    case 'latency':
      return { result: await measureLatency(task), transfer: [] };
  }
}
