// Fonts resolved before a run's view needs them. Chromium resolves a font (family, size, weight,
// style) the first time text is laid out in it; on Linux that is a fontconfig match, and for a
// family missing there a miss per family of the stack, plus a round trip to the browser process,
// 2–15 ms each on the 2-core machine. A run view's first layout needed ten new fonts at once —
// 55 of its 62 ms (traced, 2026-11-29): a long task just as the charts begin to stream. So text
// in each of those fonts is laid out offscreen while the page is idle, one specimen at a time.
import { useEffect, useState, type ReactNode } from 'react';

/**
 * Markup with the classes and nesting of the run view's text (status badge, details line, result
 * cards, model tables). e2e/fonts.spec.ts fails when a run view lays out text in
 * a font none of these has.
 */
const SPECIMENS: ReactNode[] = [
  <span className="badge">running</span>,
  <p className="small">
    seed <code>temperature=4</code> <strong>wasm</strong>
  </p>,
  <dl className="cards">
    <div className="card">
      <dt>student accuracy</dt>
      <dd>98.1 %</dd>
    </div>
  </dl>,
  <h4>
    Teacher: <code>lenet5</code>
  </h4>,
  <table>
    <thead>
      <tr>
        <th>layer</th>
      </tr>
    </thead>
    <tbody>
      <tr>
        <td>
          1 <code>conv2d</code>
        </td>
      </tr>
    </tbody>
    <tfoot>
      <tr>
        <td>total</td>
      </tr>
    </tfoot>
  </table>,
];

/** The specimens, added one per idle period and kept (hidden, offscreen, out of the a11y tree). */
export function FontWarmup() {
  const [shown, setShown] = useState(0);
  useEffect(() => {
    if (shown >= SPECIMENS.length) return;
    const handle = requestIdle(() => setShown((n) => n + 1));
    return () => cancelIdle(handle);
  }, [shown]);
  return (
    <div
      className="font-warmup"
      aria-hidden="true"
      data-testid="font-warmup"
      data-complete={shown === SPECIMENS.length}
    >
      {SPECIMENS.slice(0, shown).map((specimen, i) => (
        <div key={i}>{specimen}</div>
      ))}
    </div>
  );
}

// Safari has no requestIdleCallback.
const hasIdle = 'requestIdleCallback' in globalThis;
const requestIdle = (f: () => void): number =>
  hasIdle ? requestIdleCallback(f, { timeout: 2000 }) : window.setTimeout(f, 50);
const cancelIdle = (handle: number): void =>
  hasIdle ? cancelIdleCallback(handle) : window.clearTimeout(handle);
