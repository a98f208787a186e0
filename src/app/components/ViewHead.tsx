import type { ReactNode } from 'react';
import { formatTime } from '../format';
import type { RunStatus } from '../state/runs';
import type { SweepStatus } from '../state/sweeps';
import { StatusBadge } from './StatusBadge';

/**
 * The head of a run's, a sweep's or an uploaded teacher's view: what ran on what, its status and
 * start (or upload), its controls.
 */
export function ViewHead({
  title,
  networks,
  status,
  createdAt,
  created = 'started',
  details,
  children,
}: {
  title: ReactNode;
  /** "teacher → student · dataset". */
  networks: ReactNode;
  /** Absent for what does not run (an uploaded teacher). */
  status?: RunStatus | SweepStatus;
  createdAt: number;
  /** The verb before the creation time. */
  created?: string;
  /** After the start time: seed, steps, parameters… */
  details: ReactNode;
  children?: ReactNode;
}) {
  return (
    <div className="run-head">
      <div>
        <h2>
          {title} <span className="muted">{networks}</span>
        </h2>
        <p className="muted small">
          {status && <StatusBadge status={status} />} {created} {formatTime(createdAt)} · {details}
        </p>
      </div>
      {children}
    </div>
  );
}
