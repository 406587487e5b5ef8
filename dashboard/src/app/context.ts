import { createContext, useContext } from 'react';
import type { ConnSnapshot } from '../protocol/client';
import type { AppState } from '../store/app';
import { useStore } from '../store/store';
import type { Services } from './services';

export const ServicesContext = createContext<Services | null>(null);

export function useServices(): Services {
  const s = useContext(ServicesContext);
  if (!s) throw new Error('useServices outside ServicesContext');
  return s;
}

export function useApp<T>(selector: (s: AppState) => T, equal?: (a: T, b: T) => boolean): T {
  return useStore(useServices().store, selector, equal);
}

export function useConn<T>(selector: (s: ConnSnapshot) => T): T {
  return useStore(useServices().conn, selector);
}
