// What a checkpoint keeps beyond the student: the variables a method needs to go on where it
// left off (a generator's weights), saved as one buffer beside the student's files and restored
// by name when the run resumes.
import * as tf from '@tensorflow/tfjs';
import { InvalidInputError } from '../runtime/errors';
import type { RunContext } from './types';

/** Variables beyond the student that a method's training state is made of, by name. */
export type MethodState = Record<string, tf.Variable>;

/** A MethodState as plain data: names and shapes, and every value as float32, concatenated. */
export interface SavedState {
  tensors: { name: string; shape: number[] }[];
  data: ArrayBuffer;
}

export async function saveState(state: MethodState): Promise<SavedState> {
  const entries = Object.entries(state);
  const values = await Promise.all(entries.map(([, v]) => v.data() as Promise<Float32Array>));
  const data = new Float32Array(values.reduce((n, v) => n + v.length, 0));
  let offset = 0;
  for (const v of values) {
    data.set(v, offset);
    offset += v.length;
  }
  return {
    tensors: entries.map(([name, v]) => ({ name, shape: v.shape })),
    data: data.buffer,
  };
}

/**
 * Writes a saved state into the method's variables of the same names. A state that does not
 * match them (a checkpoint of other settings) is refused, naming the first mismatch.
 */
export function restoreState(state: MethodState, saved: SavedState): void {
  const values = new Float32Array(saved.data);
  const missing = Object.keys(state).filter((n) => !saved.tensors.some((t) => t.name === n));
  const refuse = (what: string) =>
    new InvalidInputError(
      `The checkpoint's saved training state does not fit this run: ${what}`,
      'Start the run again from the beginning.',
    );
  if (missing.length) throw refuse(`it lacks ${missing.join(', ')}`);
  let offset = 0;
  for (const { name, shape } of saved.tensors) {
    const size = shape.reduce((a, b) => a * b, 1);
    const v = state[name];
    if (!v) throw refuse(`it has '${name}', which this run does not`);
    if (v.shape.join() !== shape.join()) {
      throw refuse(`'${name}' is [${shape}] there and [${v.shape}] here`);
    }
    tf.tidy(() => v.assign(tf.tensor(values.subarray(offset, offset + size), shape)));
    offset += size;
  }
}

/**
 * Names `state` to the run as what its checkpoints keep beside `student`, and in a resumed run
 * writes the checkpoint's values back into it. `what` names the state in the refusal of a
 * checkpoint that lacks it. Returns whether the run resumed.
 */
export function beginState(
  ctx: RunContext,
  student: Parameters<RunContext['training']>[0],
  state: MethodState,
  what: string,
): boolean {
  ctx.training(student, state);
  if (ctx.resumeFrom === undefined) return false;
  if (!ctx.resumeState) {
    throw new InvalidInputError(
      `The checkpoint at step ${ctx.resumeFrom} holds no ${what} (it was taken by an older version)`,
      'Start the run again from the beginning.',
    );
  }
  restoreState(state, ctx.resumeState);
  return true;
}
