// A deliberately small store: one immutable state object, setState with an updater, and
// useStore(selector) on React's useSyncExternalStore. Reasons (docs/dashboard.md): the whole
// state is a handful of slices updated in throttled batches, so Redux Toolkit's actions,
// middleware and devtools buy nothing here but weight; selectors give the same "components only
// receive data they need" and batching is done before the store, in the protocol client.
import { useCallback, useRef, useSyncExternalStore } from 'react';

export interface Store<S> {
  getState(): S;
  setState(update: (s: S) => S): void;
  subscribe(listener: () => void): () => void;
}

export function createStore<S>(initial: S): Store<S> {
  let state = initial;
  const listeners = new Set<() => void>();
  return {
    getState: () => state,
    setState(update) {
      const next = update(state);
      if (next === state) return;
      state = next;
      for (const l of [...listeners]) l();
    },
    subscribe(l) {
      listeners.add(l);
      return () => {
        listeners.delete(l);
      };
    },
  };
}

/** Re-renders only when the selected value changes (Object.is, or a given equality). */
export function useStore<S, T>(store: Store<S>, selector: (s: S) => T, equal: (a: T, b: T) => boolean = Object.is): T {
  const cache = useRef<{ s: S; v: T } | null>(null);
  const get = useCallback(() => {
    const s = store.getState();
    const c = cache.current;
    if (c && c.s === s) return c.v;
    const v = selector(s);
    if (c && equal(c.v, v)) {
      cache.current = { s, v: c.v };
      return c.v;
    }
    cache.current = { s, v };
    return v;
  }, [store, selector, equal]);
  return useSyncExternalStore(store.subscribe, get, get);
}

export function shallowEqual<T>(a: T, b: T): boolean {
  if (Object.is(a, b)) return true;
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false;
  if (Array.isArray(a) && Array.isArray(b)) {
    return a.length === b.length && a.every((v, i) => Object.is(v, b[i]));
  }
  const ka = Object.keys(a);
  const kb = Object.keys(b);
  if (ka.length !== kb.length) return false;
  return ka.every((k) => Object.is((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k]));
}
