import type { ReactNode } from 'react';
import { formatTime } from '../format';
import type { RunStatus } from '../state/runs';
import type { SweepStatus } from '../state/sweeps';
import { StatusBadge } from './StatusBadge';

/** The head of a run's or a sweep's view: what ran on what, its status and start, its controls. */
export function ViewHead({
  title,
  networks,
  status,
  createdAt,
  details,
  children,
}: {
  title: ReactNode;
  /** "teacher → student · dataset". */
  networks: ReactNode;
  status: RunStatus | SweepStatus;
  createdAt: number;
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
          <StatusBadge status={status} /> started {formatTime(createdAt)} · {details}
        </p>
      </div>
      {children}
    </div>
  );
}
