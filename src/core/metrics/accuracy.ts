import * as tf from '@tensorflow/tfjs';
import { batches, type Dataset } from '../data';
import { forward, type Graph } from '../graph';
import { inputOptions } from './inputs';

/** Top-1 accuracy of `g` on `ds` (or the given indices), in inference mode. */
export async function accuracy(
  g: Graph,
  ds: Dataset,
  opts: { indices?: ArrayLike<number>; batchSize?: number } = {},
): Promise<number> {
  await ds.ensure?.(opts.indices);
  let correct = 0;
  let total = 0;
  for (const batch of batches(ds, {
    ...inputOptions(g, ds),
    batchSize: opts.batchSize ?? 500,
    indices: opts.indices,
  })) {
    const hits = tf.tidy(() => {
      const logits = forward(g, batch.x).output;
      return tf.sum(tf.cast(tf.equal(tf.argMax(logits, -1), batch.y), 'int32'));
    });
    correct += (await hits.data())[0];
    total += batch.indices.length;
    tf.dispose([hits, batch.x, batch.y]);
  }
  return correct / total;
}
