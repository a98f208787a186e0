// Networks the page sends to the worker as TF.js Layers files: uploaded teachers and students.
import type { Graph } from '../core/graph';
import { loadGraph } from '../core/io';
import type { ModelFiles, TeacherModel } from './protocol';

/** A graph from the one-shard Layers files this project writes (its preprocessing inside). */
export const graphFromFiles = (files: ModelFiles): Promise<Graph> =>
  loadGraph(files.modelJson, async () => files.weightData, files.shardName);

/** Loads an uploaded teacher with the preprocessing chosen for it. */
export async function teacherFromModel(model: TeacherModel): Promise<Graph> {
  const g = await graphFromFiles(model.files);
  g.preprocessing = model.preprocessing;
  return g;
}
