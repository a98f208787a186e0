import { firstExamples, type Dataset } from '../core/data';
import { describePreprocessing, INPUT_RANGES, parsePreprocessing, type Graph } from '../core/graph';
import { detectPreprocessing, type PreprocessingDetection } from '../core/metrics';
import { InvalidInputError } from '../core/runtime/errors';

/** Labelled training images detection tries each candidate on. */
export const DETECTION_SAMPLES = 500;

/**
 * --preprocessing detect | unit | raw | signed | <json>: sets the model's preprocessing. A range
 * name keeps the model's mean/std (which folded Rescaling/Normalization layers may have set);
 * JSON sets the fields it gives; detect tries every candidate and prints their accuracy to stderr.
 */
export async function applyPreprocessingOption(
  g: Graph,
  option: string | undefined,
  labelled: () => Promise<Dataset>,
  quiet: boolean,
): Promise<PreprocessingDetection | undefined> {
  if (option === undefined) return undefined;
  if (option === 'detect') {
    const detection = await detectPreprocessing(
      g,
      firstExamples(await labelled(), DETECTION_SAMPLES),
    );
    if (!quiet) {
      process.stderr.write(
        `preprocessing of ${g.name}, accuracy on ${DETECTION_SAMPLES} training images:\n`,
      );
      for (const t of detection.trials) {
        process.stderr.write(`  ${(t.accuracy * 100).toFixed(1).padStart(5)}%  ${t.label}\n`);
      }
      process.stderr.write(`chosen: ${detection.best.label}\n`);
    }
    g.preprocessing = detection.best.preprocessing;
    return detection;
  }
  if ((INPUT_RANGES as readonly string[]).includes(option)) {
    g.preprocessing = parsePreprocessing({ range: option }, g.preprocessing);
    return undefined;
  }
  let json: unknown;
  try {
    json = JSON.parse(option);
  } catch {
    throw new InvalidInputError(
      `--preprocessing '${option}' is not detect, ${INPUT_RANGES.join(', ')} or JSON`,
      `Pass --preprocessing detect, or e.g. '{"range":"unit","mean":0.1307,"std":0.3081}'.`,
    );
  }
  g.preprocessing = parsePreprocessing(json, g.preprocessing);
  if (!quiet) process.stderr.write(`preprocessing: ${describePreprocessing(g.preprocessing)}\n`);
  return undefined;
}
