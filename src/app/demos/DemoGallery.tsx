// The gallery of ready demos: what each shows, its formula (KaTeX, rendered as MathML so that
// no inline style is needed under the page's Content-Security-Policy), and buttons that put its
// configuration into the form or start it at once. Loaded on demand: KaTeX stays out of the
// main bundle.
import katex from 'katex';
import { useMemo } from 'react';
import { useWorkbench } from '../state/context';
import { DEMOS, type Demo } from './demos';

function Formula({ tex }: { tex: string }) {
  const html = useMemo(
    () => katex.renderToString(tex, { output: 'mathml', displayMode: true, throwOnError: false }),
    [tex],
  );
  // KaTeX's own output from our constant TeX: nothing a user typed.
  return <div className="formula" dangerouslySetInnerHTML={{ __html: html }} />;
}

function DemoCard({ demo }: { demo: Demo }) {
  const openHash = useWorkbench((s) => s.openHash);
  const method = useWorkbench((s) =>
    s.catalog?.methods.find((m) => m.id === new URLSearchParams(demo.hash).get('method')),
  );
  return (
    <article className="panel demo" aria-labelledby={`demo-${demo.id}`} data-testid="demo">
      <h3 id={`demo-${demo.id}`}>{demo.title}</h3>
      {method && <p className="muted small">{method.paper}</p>}
      <p>{demo.text}</p>
      <Formula tex={demo.formula} />
      <div className="controls">
        <button type="button" className="primary" onClick={() => openHash(demo.hash, true)}>
          Run this demo
        </button>
        <button type="button" onClick={() => openHash(demo.hash)}>
          Open in the form
        </button>
        <a className="button ghost" href={`#${demo.hash}`} aria-label={`Link to ${demo.title}`}>
          Link
        </a>
      </div>
    </article>
  );
}

export default function DemoGallery() {
  const showDemos = useWorkbench((s) => s.showDemos);
  return (
    <main className="main" data-testid="demo-gallery">
      <div className="run-head">
        <div>
          <h2>Demos for a class</h2>
          <p className="muted small">
            Each runs in under two minutes on a laptop CPU. “Run this demo” starts it; “Open in the
            form” lets you change a setting first; “Link” is a shareable URL of its setup.
          </p>
        </div>
        <div className="controls">
          <button type="button" onClick={() => showDemos(false)}>
            Close
          </button>
        </div>
      </div>
      <div className="demos">
        {DEMOS.map((d) => (
          <DemoCard key={d.id} demo={d} />
        ))}
      </div>
    </main>
  );
}
