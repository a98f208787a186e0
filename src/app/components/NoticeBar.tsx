import { useWorkbench } from '../state/context';

/** The last import, export or crash message, with what to do about it. */
export function NoticeBar() {
  const notice = useWorkbench((s) => s.notice);
  const dismiss = useWorkbench((s) => s.dismissNotice);
  return (
    <div className="notice-slot" aria-live="polite">
      {notice && (
        <div className={`notice ${notice.kind}`} data-testid="notice">
          <div>
            <span>{notice.text}</span>
            {notice.hint && <p className="hint">{notice.hint}</p>}
          </div>
          <button type="button" className="ghost" onClick={dismiss} aria-label="Dismiss">
            ×
          </button>
        </div>
      )}
    </div>
  );
}
