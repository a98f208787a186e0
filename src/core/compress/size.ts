import { nodeById, nonZeroParams, type Graph } from '../graph';
import type { LayerPlan } from './compressor';

/**
 * What a compressed student costs beyond its dense size: the parameters that are not zero, and
 * the bytes when every quantized kernel is stored at `bits` per weight plus one float32 step
 * per layer (everything else float32).
 */
export async function compressedSize(
  g: Graph,
  plans: LayerPlan[],
  bits: number,
): Promise<{ nonZeroParams: number; quantizedBytes: number }> {
  const variables = g.nodes.flatMap((n) => Object.values(n.weights));
  let quantizedBytes = variables.reduce((sum, v) => sum + v.size * 4, 0);
  for (const p of plans) {
    if (p.mode !== 'quantize') continue;
    const kernel = nodeById(g, p.id).weights[p.groups.weight];
    quantizedBytes += Math.ceil((kernel.size * bits) / 8) + 4 - kernel.size * 4;
  }
  return { nonZeroParams: await nonZeroParams(g), quantizedBytes };
}
