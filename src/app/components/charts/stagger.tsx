// Charts redraw one per task. A batch of events can change several charts at once, and recharts
// needs tens of milliseconds per chart on a busy 2-core machine; drawing them all in the message
// handler's task would make it a long task (> 50 ms) and stall input. So a chart shows the value
// it was last given only when its turn comes: a queue drained one chart per macrotask.
import { memo, useEffect, useState, type ComponentType } from 'react';
import { flushSync } from 'react-dom';

const queue = new Map<object, () => void>();
const channel = typeof MessageChannel === 'undefined' ? undefined : new MessageChannel();
let pumping = false;

function pump(): void {
  const next = queue.entries().next();
  if (next.done) {
    pumping = false;
    return;
  }
  const [token, apply] = next.value;
  queue.delete(token);
  // Render and commit this chart now, in this task, so the next one gets a task of its own.
  flushSync(apply);
  channel!.port2.postMessage(null);
}

if (channel) channel.port1.onmessage = pump;

/**
 * Returns `value` as of this chart's last turn: undefined until its first turn (draw a
 * placeholder of the same size), then each new value once the charts queued before it drew.
 */
export function useStaggered<T>(value: T): T | undefined {
  const [shown, setShown] = useState<T | undefined>(undefined);
  const [token] = useState(() => ({}));
  useEffect(() => {
    if (!channel) return setShown(value);
    // A newer value replaces a queued one, keeping its place in the queue.
    queue.set(token, () => setShown(value));
    if (!pumping) {
      pumping = true;
      channel.port2.postMessage(null);
    }
  }, [token, value]);
  useEffect(() => () => void queue.delete(token), [token]);
  return shown;
}

/**
 * Wraps a chart so it draws on its turn (see useStaggered). `areEqual` decides, like memo's,
 * which prop changes are worth a redraw; until the first turn a placeholder keeps the layout.
 */
export function staggered<P extends object>(
  Chart: ComponentType<P>,
  areEqual?: (a: Readonly<P>, b: Readonly<P>) => boolean,
) {
  const Drawn = memo(Chart);
  function Staggered(props: P) {
    const shown = useStaggered(props);
    return shown ? <Drawn {...shown} /> : <div className="chart placeholder" aria-busy="true" />;
  }
  Staggered.displayName = `Staggered(${Chart.displayName ?? Chart.name})`;
  return memo(Staggered, areEqual);
}
