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
    // Appended in place: copying the list per image is quadratic in a folder's size.
    const images = byClass.get(folder) ?? [];
    images.push(path);
    byClass.set(folder, images);
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
  // '1' and '01' both name output 1, and then another output has no folder.
  const twins = new Set(indices.values()).size < folders.length;
  if (outside.length || twins || folders.length !== outputs) {
    const problem = outside.length
      ? `the folder(s) ${outside.map((f) => `'${f}'`).join(', ')} name no output of a model with ${outputs} classes`
      : twins
        ? `two of the folders ${sorted.map((f) => `'${f}'`).join(', ')} name the same output (as '1' and '01' do)`
        : `${folders.length} class folders for a model with ${outputs} outputs`;
    throw new InvalidInputError(
      `The images do not map onto the teacher's classes: ${problem}`,
      FOLDERS_HINT,
    );
  }
  return indices;
}
