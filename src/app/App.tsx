// The workbench: run list on the left, the selected run in the middle, configuration on the
// right. The page imports nothing from src/core but types (and the pure param checks): TF.js
// lives in the worker chunk.
import { lazy, Suspense, useEffect, useState } from 'react';
import { ComparisonView } from './components/ComparisonView';
import { ConfigPanel } from './components/ConfigPanel';
import { FontWarmup } from './components/FontWarmup';
import { NoticeBar } from './components/NoticeBar';
import { RunList } from './components/RunList';
import { RunView } from './components/RunView';
import { SweepView } from './components/SweepView';
import { ModelDropZone } from './components/TeacherUpload';

// KaTeX and the demos load when the gallery is first opened.
const DemoGallery = lazy(() => import('./demos/DemoGallery'));
import { TeacherView } from './components/TeacherView';
import { useWorkbench } from './state/context';
import { configToHash } from './state/hash';
import { ACTIVE } from './state/runs';

function isolationStatus(): string {
  return globalThis.crossOriginIsolated
    ? 'Cross-origin isolated: WASM threads available.'
    : 'Not cross-origin isolated: WASM threads unavailable (serve with COOP/COEP headers).';
}

type Theme = 'light' | 'dark';
interface Prefs {
  theme: Theme;
  largeFonts: boolean;
  /** Only the middle, larger and with more contrast: for a projector. */
  presenter: boolean;
}

const PREFS_KEY = 'clab-prefs';

function loadPrefs(): Prefs {
  const dark = globalThis.matchMedia?.('(prefers-color-scheme: dark)').matches ?? false;
  const fallback: Prefs = { theme: dark ? 'dark' : 'light', largeFonts: false, presenter: false };
  try {
    return { ...fallback, ...(JSON.parse(localStorage.getItem(PREFS_KEY) ?? '{}') as Prefs) };
  } catch {
    return fallback;
  }
}

/** Theme and the classroom modes (large fonts, presenter), remembered across visits. */
function usePrefs(): [Prefs, (p: Partial<Prefs>) => void] {
  const [prefs, setPrefs] = useState(loadPrefs);
  useEffect(() => {
    document.documentElement.dataset.theme = prefs.theme;
    document.documentElement.dataset.fonts = prefs.largeFonts ? 'large' : 'normal';
    document.documentElement.dataset.presenter = prefs.presenter ? 'on' : 'off';
    localStorage.setItem(PREFS_KEY, JSON.stringify(prefs));
  }, [prefs]);
  return [prefs, (p) => setPrefs((old) => ({ ...old, ...p }))];
}

/** Asks before the page goes away while a run is queued, running or paused: it would be cut off. */
function useLeaveWarning(): void {
  const active = useWorkbench((s) => Object.values(s.runs).some((r) => ACTIVE.has(r.status)));
  useEffect(() => {
    if (!active) return;
    const warn = (e: BeforeUnloadEvent) => e.preventDefault();
    addEventListener('beforeunload', warn);
    return () => removeEventListener('beforeunload', warn);
  }, [active]);
}

/** Keeps the URL hash equal to the draft configuration, so a link reproduces it. */
function useConfigHash(): void {
  const config = useWorkbench((s) => s.config);
  const hidden = useWorkbench((s) => s.hidden);
  useEffect(() => {
    if (config) history.replaceState(null, '', `#${configToHash(config, hidden)}`);
  }, [config, hidden]);
}

/**
 * The middle: an uploaded teacher just imported or asked for, the ticked runs compared, a
 * sweep's results, or a run.
 */
function Main() {
  const teacherId = useWorkbench((s) => s.selectedTeacherId);
  const demos = useWorkbench((s) => s.showingDemos);
  const comparing = useWorkbench((s) => s.comparing);
  const sweepId = useWorkbench((s) => s.selectedSweepId);
  if (teacherId) return <TeacherView key={teacherId} id={teacherId} />;
  if (demos) {
    return (
      <Suspense fallback={<main className="main" aria-busy="true" />}>
        <DemoGallery />
      </Suspense>
    );
  }
  if (comparing) return <ComparisonView />;
  return sweepId ? <SweepView key={sweepId} id={sweepId} /> : <RunView />;
}

/** A top-bar switch: a button that says whether it is on (aria-pressed). */
function Toggle({ label, on, set }: { label: string; on: boolean; set: (on: boolean) => void }) {
  return (
    <button type="button" className="ghost" aria-pressed={on} onClick={() => set(!on)}>
      {label}
    </button>
  );
}

export function App() {
  const [prefs, setPrefs] = usePrefs();
  const showingDemos = useWorkbench((s) => s.showingDemos);
  const showDemos = useWorkbench((s) => s.showDemos);
  useConfigHash();
  useLeaveWarning();
  return (
    <ModelDropZone className="app">
      <header className="topbar">
        <h1>Compression Lab</h1>
        <p className="isolation" role="status" data-testid="status">
          {isolationStatus()}
        </p>
        <div className="prefs">
          <Toggle label="Demos" on={showingDemos} set={showDemos} />
          <Toggle
            label="Presenter mode"
            on={prefs.presenter}
            set={(presenter) => setPrefs({ presenter })}
          />
          <Toggle
            label="Dark theme"
            on={prefs.theme === 'dark'}
            set={(dark) => setPrefs({ theme: dark ? 'dark' : 'light' })}
          />
          <Toggle
            label="Large fonts"
            on={prefs.largeFonts}
            set={(largeFonts) => setPrefs({ largeFonts })}
          />
        </div>
      </header>
      <NoticeBar />
      <RunList />
      <Main />
      <ConfigPanel />
      <FontWarmup />
    </ModelDropZone>
  );
}
