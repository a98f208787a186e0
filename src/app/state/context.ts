import { createContext, useContext } from 'react';
import { useStore } from 'zustand';
import type { WorkbenchState, WorkbenchStore } from './store';

export const StoreContext = createContext<WorkbenchStore | null>(null);

/** Subscribes a component to a slice of the workbench store given by <StoreContext>. */
export function useWorkbench<T>(selector: (s: WorkbenchState) => T): T {
  const store = useContext(StoreContext);
  if (!store) throw new Error('useWorkbench needs a <StoreContext.Provider>.');
  return useStore(store, selector);
}

/** The store itself: for reading state inside memos keyed on a cheaper selector. */
export function useWorkbenchStore(): WorkbenchStore {
  const store = useContext(StoreContext);
  if (!store) throw new Error('useWorkbenchStore needs a <StoreContext.Provider>.');
  return store;
}

/** A teacher as the page names it: an uploaded one by its model's name, a built-in one by id. */
export function useTeacherLabel(id: string): string {
  return useWorkbench((s) => s.teachers[id]?.name ?? id);
}
