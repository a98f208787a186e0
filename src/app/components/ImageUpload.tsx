import type { RunConfig } from '../../worker/protocol';
import { uploadFiles } from '../files';
import { useWorkbench } from '../state/context';
import { SelectField } from './ParamField';

/**
 * The run's few-shot data: the dataset's training split, or labelled images uploaded as a folder
 * (one sub-folder per class) or a .zip of one, optionally also the test set. Uploads are kept in
 * IndexedDB until deleted here.
 */
export function ImageUpload({ config }: { config: RunConfig }) {
  const imageSets = useWorkbench((s) => s.imageSets);
  const importImages = useWorkbench((s) => s.importImages);
  const removeImageSet = useWorkbench((s) => s.removeImageSet);
  const setConfig = useWorkbench((s) => s.setConfig);
  const task = useWorkbench((s) => s.imagesTask);
  const chosen = config.shots ? imageSets[config.shots] : undefined;
  const pick = (files: FileList | null, input: HTMLInputElement) => {
    const picked = uploadFiles(files ?? []);
    // Cleared so that choosing the same folder again reads it again.
    input.value = '';
    void importImages(picked);
  };
  return (
    <>
      <SelectField
        label="Few-shot data"
        value={chosen?.id ?? ''}
        options={[
          { value: '', title: `${config.dataset}'s training images` },
          ...Object.values(imageSets).map((set) => ({
            value: set.id,
            title: `${set.name}: ${set.counts.reduce((a, b) => a + b, 0)} uploaded images`,
          })),
        ]}
        help={
          chosen
            ? `Classes ${chosen.classNames.map((c, i) => `${c} (${chosen.counts[i]})`).join(', ')}. Kept in this browser until deleted.`
            : 'Or upload a folder with one sub-folder of images per class (numeric names are output indices, other names are sorted), or a .zip of one.'
        }
        onChange={(v) => setConfig({ shots: v || undefined })}
      />
      <div className="upload-row">
        <label className="button ghost">
          Image folder…
          <input
            type="file"
            multiple
            aria-label="Upload image folder"
            className="visually-hidden"
            disabled={!!task}
            // React has no prop for it: the picker then takes a folder and keeps its paths.
            ref={(input) => input?.setAttribute('webkitdirectory', '')}
            onChange={(e) => pick(e.target.files, e.target)}
          />
        </label>
        <label className="button ghost">
          Image .zip…
          <input
            type="file"
            accept=".zip,application/zip"
            aria-label="Upload image zip"
            className="visually-hidden"
            disabled={!!task}
            onChange={(e) => pick(e.target.files, e.target)}
          />
        </label>
        {chosen && (
          <button
            type="button"
            className="ghost danger"
            disabled={!!task}
            onClick={() => {
              if (confirm(`Delete the uploaded images '${chosen.name}' from this browser?`)) {
                void removeImageSet(chosen.id);
              }
            }}
          >
            Delete images
          </button>
        )}
        {task && (
          <span className="muted small" role="status">
            {task}
          </span>
        )}
      </div>
      {chosen && (
        <label className="check">
          <input
            type="checkbox"
            checked={!!config.shotsAsTest}
            onChange={(e) => setConfig({ shotsAsTest: e.target.checked || undefined })}
          />{' '}
          Also the labelled test set (otherwise accuracy is agreement with the teacher)
        </label>
      )}
    </>
  );
}
