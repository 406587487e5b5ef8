// PerformanceMonitor (spec): frame times and long tasks, exposed as window.__pitboxPerf for the
// bench script (read through the DevTools Protocol) and for anyone in the console.
export interface PerfStats {
  frames: number;
  /** Main-thread busy time per frame: from the start of the frame's rAF callbacks to the first
   * task after the frame (script + style + layout + paint of that frame), ms percentiles. */
  busyP50: number;
  busyP95: number;
  busyMax: number;
  p50: number;
  p95: number;
  p99: number;
  max: number;
  longTasks: number;
  reset(): void;
}

export function startPerfMonitor(): void {
  if (typeof window === 'undefined' || typeof requestAnimationFrame === 'undefined') return;
  const N = 4096;
  const times = new Float64Array(N);
  const busy = new Float64Array(N);
  let nb = 0;
  const ch = new MessageChannel();
  let frameStart = 0;
  ch.port1.onmessage = () => {
    busy[nb % N] = performance.now() - frameStart;
    nb++;
  };
  let n = 0;
  let last = 0;
  let longTasks = 0;
  const frame = (t: number) => {
    if (last) {
      times[n % N] = t - last;
      n++;
    }
    last = t;
    frameStart = performance.now();
    ch.port2.postMessage(0);
    requestAnimationFrame(frame);
  };
  requestAnimationFrame(frame);
  try {
    new PerformanceObserver((l) => (longTasks += l.getEntries().length)).observe({ type: 'longtask', buffered: false });
  } catch {
    /* not supported */
  }
  const quant = (arr: Float64Array, count: number, p: number) => {
    const k = Math.min(count, N);
    if (k === 0) return 0;
    const a = Array.from(arr.subarray(0, k)).sort((x, y) => x - y);
    return a[Math.min(k - 1, Math.floor(p * k))]!;
  };
  const q = (p: number) => quant(times, n, p);
  const stats: PerfStats = {
    get frames() {
      return n;
    },
    get busyP50() {
      return quant(busy, nb, 0.5);
    },
    get busyP95() {
      return quant(busy, nb, 0.95);
    },
    get busyMax() {
      return quant(busy, nb, 1);
    },
    get p50() {
      return q(0.5);
    },
    get p95() {
      return q(0.95);
    },
    get p99() {
      return q(0.99);
    },
    get max() {
      return q(1);
    },
    get longTasks() {
      return longTasks;
    },
    reset() {
      n = 0;
      nb = 0;
      last = 0;
      longTasks = 0;
    },
  };
  (window as unknown as { __pitboxPerf: PerfStats }).__pitboxPerf = stats;
}
