import type { RunStatus } from '../state/runs';
import type { SweepStatus } from '../state/sweeps';

export function StatusBadge({ status }: { status: RunStatus | SweepStatus }) {
  return (
    <span className={`badge status-${status}`} data-testid="status-badge">
      {status}
    </span>
  );
}
