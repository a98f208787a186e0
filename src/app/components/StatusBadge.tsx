import type { RunStatus } from '../state/runs';

export function StatusBadge({ status }: { status: RunStatus }) {
  return (
    <span className={`badge status-${status}`} data-testid="status-badge">
      {status}
    </span>
  );
}
