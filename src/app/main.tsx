import { StrictMode } from 'react';
import { createRoot } from 'react-dom/client';
import { createWorkerClient } from '../worker/client';
import { App } from './App';
import { memoryRunDb, openRunDb } from './state/db';
import { StoreContext } from './state/context';
import { createWorkbenchStore } from './state/store';
import './styles.css';

const root = document.getElementById('root');
if (!root) throw new Error('index.html has no #root element.');

// Private windows may refuse IndexedDB: the page still works, it just forgets on reload.
const db = await openRunDb().catch(() => undefined);
const store = createWorkbenchStore({
  db: db ?? memoryRunDb(),
  hash: location.hash,
  connect: (handlers) =>
    createWorkerClient({
      ...handlers,
      testMethods: new URLSearchParams(location.search).has('testing'),
      storeStudents: db !== undefined,
    }),
});
if (!db) {
  store.setState({
    notice: { kind: 'error', text: 'IndexedDB is unavailable: runs will not survive a reload.' },
  });
}

// A built page keeps itself and what its runs fetched for offline visits (public/sw.js); the dev
// server's modules change under the same names, so it has none.
if (import.meta.env.PROD && 'serviceWorker' in navigator) {
  navigator.serviceWorker.register('/sw.js').catch((e: unknown) => {
    console.warn(`No offline copy: the service worker was refused (${String(e)})`);
  });
}

createRoot(root).render(
  <StrictMode>
    <StoreContext.Provider value={store}>
      <App />
    </StoreContext.Provider>
  </StrictMode>,
);
