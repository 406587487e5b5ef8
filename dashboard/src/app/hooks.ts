import { useEffect, useState, useSyncExternalStore } from 'react';

/** Current time, re-read every `ms` (one shared interval per hook user; cleared on unmount). */
export function useNow(ms = 500): number {
  const [now, setNow] = useState(() => Date.now());
  useEffect(() => {
    const id = setInterval(() => setNow(Date.now()), ms);
    return () => clearInterval(id);
  }, [ms]);
  return now;
}

type Route = string;
const listeners = new Set<() => void>();
function onPop() {
  for (const l of listeners) l();
}

export function navigate(to: Route): void {
  if (location.pathname + location.search === to) return;
  history.pushState(null, '', to);
  onPop();
}

/** The current pathname; views are client-side routes served by the SPA fallback. */
export function usePath(): string {
  return useSyncExternalStore(
    (l) => {
      listeners.add(l);
      if (listeners.size === 1) window.addEventListener('popstate', onPop);
      return () => {
        listeners.delete(l);
        if (listeners.size === 0) window.removeEventListener('popstate', onPop);
      };
    },
    () => location.pathname,
    () => '/',
  );
}
