// The page imports nothing from src/core but types: TensorFlow.js stays in the worker chunk.

function isolationStatus(): string {
  return globalThis.crossOriginIsolated
    ? 'Cross-origin isolated: WASM threads available.'
    : 'Not cross-origin isolated: WASM threads unavailable (serve with COOP/COEP headers).';
}

export function App() {
  return (
    <main style={{ fontFamily: 'system-ui, sans-serif', maxWidth: '48rem', margin: '2rem auto' }}>
      <h1>Compression Lab</h1>
      <p>
        Distill, prune and quantize neural networks in your browser with TensorFlow.js. Nothing
        leaves your machine.
      </p>
      <p role="status" data-testid="status">
        {isolationStatus()}
      </p>
    </main>
  );
}
