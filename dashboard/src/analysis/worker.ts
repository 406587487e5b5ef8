// The analysis worker: heavy parsing and resampling off the main thread.
import { compareLaps } from './compare';
import type { Job, JobResult } from './run';

self.onmessage = (ev: MessageEvent<Job>) => {
  const job = ev.data;
  let res: JobResult;
  try {
    const c = compareLaps(job.lapText, job.refText, job.trackLengthM, job.stepM);
    res = { id: job.id, ok: true, result: c };
    const bufs = [c.dist, c.delta, c.lap.speed, c.lap.throttle, c.lap.brake, c.lap.time, c.ref.speed, c.ref.throttle, c.ref.brake, c.ref.time].map((a) => a.buffer);
    (self as unknown as Worker).postMessage(res, bufs);
  } catch (e) {
    res = { id: job.id, ok: false, error: e instanceof Error ? e.message : String(e) };
    (self as unknown as Worker).postMessage(res);
  }
};
