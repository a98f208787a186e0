import { useState, type DragEvent, type ReactNode } from 'react';
import { droppedFiles, holdsImages, uploadFiles } from '../files';
import { useWorkbench } from '../state/context';
import { isUploadedTeacher } from '../state/teachers';

/**
 * The file picker for a teacher (a TF.js Layers model.json with its shards, one .onnx, or a
 * .zip of either), what the worker is doing with it, and a way back to the selected upload.
 */
export function TeacherUpload({ teacher }: { teacher: string }) {
  const importTeacher = useWorkbench((s) => s.importTeacher);
  const selectTeacher = useWorkbench((s) => s.selectTeacher);
  const task = useWorkbench((s) => s.teacherTask);
  return (
    <div className="upload-row">
      <label className="button ghost">
        Upload teacher…
        <input
          type="file"
          multiple
          aria-label="Upload teacher files"
          className="visually-hidden"
          disabled={!!task}
          onChange={(e) => {
            const files = uploadFiles(e.target.files ?? []);
            // Cleared so that choosing the same files again imports them again.
            e.target.value = '';
            void importTeacher(files);
          }}
        />
      </label>
      {isUploadedTeacher(teacher) && (
        <button type="button" className="ghost" onClick={() => selectTeacher(teacher)}>
          Show teacher
        </button>
      )}
      <span className="muted small" role="status" data-testid="teacher-task">
        {task ?? 'model.json + shards, .onnx or .zip; or drop them on the page'}
      </span>
    </div>
  );
}

/**
 * Files and folders dropped anywhere on the page: a model is imported as a teacher, a folder of
 * class folders of images as few-shot data; an outline says where while dragging.
 */
export function ModelDropZone({ className, children }: { className: string; children: ReactNode }) {
  const importTeacher = useWorkbench((s) => s.importTeacher);
  const importImages = useWorkbench((s) => s.importImages);
  const [dragging, setDragging] = useState(false);
  const carriesFiles = (e: DragEvent) => e.dataTransfer.types.includes('Files');
  return (
    <div
      className={className}
      onDragOver={(e) => {
        if (!carriesFiles(e)) return;
        e.preventDefault();
        e.dataTransfer.dropEffect = 'copy';
        setDragging(true);
      }}
      onDragLeave={(e) => {
        // Leaving one child for another also fires dragleave: only leaving the page counts.
        if (!e.relatedTarget) setDragging(false);
      }}
      onDrop={(e) => {
        if (!carriesFiles(e)) return;
        e.preventDefault();
        setDragging(false);
        void droppedFiles(e.dataTransfer).then((files) =>
          holdsImages(files) ? importImages(files) : importTeacher(files),
        );
      }}
    >
      {children}
      {dragging && (
        <div className="drop-overlay" aria-hidden="true">
          Drop a model (model.json + shards, .onnx or .zip) to import it as a teacher, or a folder
          of class folders of images as few-shot data
        </div>
      )}
    </div>
  );
}
