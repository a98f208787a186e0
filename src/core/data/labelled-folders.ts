// Labelled images given as one folder per class (a picked or dropped folder, or a zip of one):
// which files are images, which class each belongs to, and how classes meet a model's outputs.
import { InvalidInputError } from '../runtime/errors';

const IMAGE = /\.(png|jpe?g|gif|bmp|webp)$/i;

/** Whether a file name is one of the image formats browsers decode. */
export const isImagePath = (path: string): boolean => IMAGE.test(path);

const FOLDERS_HINT =
  'Give one sub-folder per class, named by the class (0, 1, … for the output index, or names that sort in output order), each holding that class’s images.';

/** The class folder of an image path ('digits/3/a.png' → '3'); undefined for a top-level file. */
function classFolder(path: string): string | undefined {
  const parts = path.split('/').filter(Boolean);
  return parts.length >= 2 ? parts[parts.length - 2] : undefined;
}

/** Image paths by class folder name; other files (notes, .DS_Store, __MACOSX) are left out. */
export function imagesByClass(paths: readonly string[]): Map<string, string[]> {
  const byClass = new Map<string, string[]>();
  for (const path of paths) {
    const folder = classFolder(path);
    if (!isImagePath(path) || !folder || path.includes('__MACOSX/')) continue;
    byClass.set(folder, [...(byClass.get(folder) ?? []), path]);
  }
  if (byClass.size < 2) {
    throw new InvalidInputError(
      byClass.size === 0
        ? 'No images in class folders were found (PNG, JPEG, GIF, BMP or WebP inside one sub-folder per class)'
        : `All images are in one folder ('${[...byClass.keys()][0]}'): there are no class folders`,
      FOLDERS_HINT,
    );
  }
  return byClass;
}

/**
 * Each class folder's output index for a model with `outputs` classes: numeric names are the
 * index itself; otherwise the names in sorted order are outputs 0, 1, …. Every output needs
 * its folder, since few-shot methods draw K images of every class.
 */
export function classIndices(folders: readonly string[], outputs: number): Map<string, number> {
  const numeric = folders.every((f) => /^\d+$/.test(f));
  const sorted = [...folders].sort((a, b) => a.localeCompare(b, 'en', { numeric: true }));
  const indices = new Map(sorted.map((f, i) => [f, numeric ? Number(f) : i]));
  const outside = sorted.filter((f) => indices.get(f)! >= outputs);
  if (outside.length || folders.length !== outputs) {
    const problem = outside.length
      ? `the folder(s) ${outside.map((f) => `'${f}'`).join(', ')} name no output of a model with ${outputs} classes`
      : `${folders.length} class folders for a model with ${outputs} outputs`;
    throw new InvalidInputError(
      `The images do not map onto the teacher's classes: ${problem}`,
      FOLDERS_HINT,
    );
  }
  return indices;
}
