// For tests of resuming: a run stopped once a step is done, with what the worker would keep.
import { saveState, type MethodState, type SavedState } from './method-state';
import { executeRun, type RunRequest } from './runner';
import type { RunEvent } from './types';

/**
 * Runs `req` in step mode (every step reported) and stops it once step `at` is done (or, given a
 * test of events, after the first event that passes it): its result and student, the state the
 * method named saved as the worker saves it at a stop, and its events.
 */
export async function stopAt(req: RunRequest, at: number | ((e: RunEvent) => boolean)) {
  const stopsAfter =
    typeof at === 'number' ? (e: RunEvent) => e.kind === 'progress' && e.step >= at : at;
  let stop = false;
  let named: MethodState | undefined;
  let state: SavedState | undefined;
  const events: RunEvent[] = [];
  const out = await executeRun(
    req,
    (e) => {
      events.push(e);
      stop ||= stopsAfter(e);
    },
    {
      stopRequested: () => stop,
      stepping: () => true,
      onStudent: (_g, s) => (named = s),
      beforeStop: async () => {
        state = named && (await saveState(named));
      },
    },
  );
  return { ...out, state, events };
}
