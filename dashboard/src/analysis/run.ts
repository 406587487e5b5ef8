// Runs analysis jobs in a Web Worker (one, created lazily, kept for the page's life); where
// Worker is missing (jsdom tests) the same code runs in-thread.
import { compareLaps, type Comparison } from './compare';

export interface Job {
  id: number;
  lapText: string;
  refText: string;
  trackLengthM: number | null;
  stepM: number;
}
export type JobResult = { id: number; ok: true; result: Comparison } | { id: number; ok: false; error: string };

let worker: Worker | null = null;
let nextId = 1;
const waiting = new Map<number, (r: JobResult) => void>();

function getWorker(): Worker | null {
  if (typeof Worker === 'undefined') return null;
  if (!worker) {
    worker = new Worker(new URL('./worker.ts', import.meta.url), { type: 'module' });
    worker.onmessage = (ev: MessageEvent<JobResult>) => {
      const cb = waiting.get(ev.data.id);
      waiting.delete(ev.data.id);
      cb?.(ev.data);
    };
  }
  return worker;
}

export function runCompare(lapText: string, refText: string, trackLengthM: number | null, stepM = 5): Promise<Comparison> {
  const job: Job = { id: nextId++, lapText, refText, trackLengthM, stepM };
  const w = getWorker();
  if (!w) return Promise.resolve().then(() => compareLaps(lapText, refText, trackLengthM, stepM));
  return new Promise((resolve, reject) => {
    waiting.set(job.id, (r) => (r.ok ? resolve(r.result) : reject(new Error(r.error))));
    w.postMessage(job);
  });
}
