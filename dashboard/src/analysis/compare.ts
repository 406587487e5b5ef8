// Lap comparison: parse two laps' telemetry (REST body text), resample both onto one distance
// grid and compute the delta trace (time of the lap minus time of the reference at the same
// distance; positive = losing). Pure and allocation-bounded; runs in the analysis worker.

export interface LapTrace {
  dist: Float64Array;
  speed: Float64Array;
  throttle: Float64Array;
  brake: Float64Array;
  time: Float64Array;
  lapTime: number;
}

export interface Comparison {
  dist: Float64Array;
  lap: LapTrace;
  ref: LapTrace;
  delta: Float64Array;
  lapTime: number;
  refTime: number;
}

type Obj = Record<string, unknown>;

export interface Raw {
  d: number[];
  t: number[];
  speed: number[];
  throttle: number[];
  brake: number[];
}

function pick(o: Obj, ...keys: string[]): number | null {
  for (const k of keys) {
    const v = o[k];
    if (typeof v === 'number' && Number.isFinite(v)) return v;
  }
  return null;
}

/**
 * Samples of a lap telemetry body: an array of samples, `{samples: [...]}`, or the cloud's
 * columns `{timestamps: [unix ms], channels: {speed: [...], "tireWear.frontLeft": [...], …}}`
 * (GET /api/laps/{id}/telemetry). Dotted channel names become nested objects; `timestamps`
 * become ISO `timestamp`s.
 */
export function rowsFromBody(v: unknown): Obj[] | null {
  if (Array.isArray(v)) return v as Obj[];
  if (!v || typeof v !== 'object') return null;
  const o = v as Obj;
  if (Array.isArray(o.samples)) return o.samples as Obj[];
  const cols = (o.channels ?? o.columns) as Record<string, unknown> | undefined;
  if (!cols || typeof cols !== 'object') return null;
  const ts = Array.isArray(o.timestamps) ? (o.timestamps as unknown[]) : null;
  const entries = Object.entries(cols).filter((e): e is [string, unknown[]] => Array.isArray(e[1]));
  const len = Math.max(ts?.length ?? 0, ...entries.map(([, c]) => c.length));
  const rows: Obj[] = [];
  for (let i = 0; i < len; i++) {
    const r: Obj = {};
    if (ts && typeof ts[i] === 'number') r.timestamp = new Date(ts[i] as number).toISOString();
    for (const [k, c] of entries) {
      const dot = k.indexOf('.');
      if (dot > 0) {
        const head = k.slice(0, dot);
        const sub = (r[head] ??= {}) as Obj;
        sub[k.slice(dot + 1)] = c[i];
      } else r[k] = c[i];
    }
    rows.push(r);
  }
  return rows;
}

export function parseLap(text: string, trackLengthM: number | null): Raw {
  const v = JSON.parse(text) as unknown;
  const rows = rowsFromBody(v);
  if (!rows || rows.length < 2) throw new Error('the lap has no samples');
  const len = trackLengthM ?? (typeof (v as Obj).trackLengthM === 'number' ? ((v as Obj).trackLengthM as number) : null);
  const raw: Raw = { d: [], t: [], speed: [], throttle: [], brake: [] };
  let t0: number | null = null;
  for (const r of rows) {
    let d = pick(r, 'lapDistance', 'distance', 'lapDist');
    if (d === null) {
      const p = pick(r, 'trackPosition', 'lapDistPct');
      if (p !== null) d = p * (len ?? 1000);
    }
    // Time since the line: the lap-time channel, else time since the lap's first sample.
    let t = pick(r, 'lapTime', 'lapCurrentLapTime', 'time');
    if (t === null) {
      const ts = typeof r.timestamp === 'string' ? Date.parse(r.timestamp) / 1000 : pick(r, 'sessionTime');
      if (ts !== null && Number.isFinite(ts)) {
        if (t0 === null) t0 = ts;
        t = ts - t0;
      }
    }
    const sp = pick(r, 'speed');
    if (d === null || t === null || sp === null) continue;
    raw.d.push(d);
    raw.t.push(t);
    raw.speed.push(sp);
    raw.throttle.push(pick(r, 'throttle') ?? 0);
    raw.brake.push(pick(r, 'brake') ?? 0);
  }
  if (raw.d.length < 2) throw new Error('the lap has no distance or time channel');
  return trimCrossings(raw);
}

/**
 * A stored lap (one lap-counter value) starts with the sample or two before iRacing's distance
 * wraps at the line, and may end with one after the next wrap: those carry the previous lap's
 * distance and time (a −25 s spike at 0 m in the delta). Keeps the run between the wraps.
 */
export function trimCrossings(raw: Raw): Raw {
  const n = raw.d.length;
  const span = Math.max(...raw.d) - Math.min(...raw.d);
  // A wrap: the distance falls by more than half of what the lap covers, or the lap clock
  // falls back (iRacing resets LapCurrentLapTime a sample or two after the distance wraps).
  const tSpan = Math.max(...raw.t) - Math.min(...raw.t);
  const wraps: number[] = [];
  for (let i = 1; i < n; i++) {
    if (raw.d[i - 1]! - raw.d[i]! > span / 2 || raw.t[i - 1]! - raw.t[i]! > tSpan / 2) wraps.push(i);
  }
  let from = 0;
  let to = n;
  for (const w of wraps) {
    if (w <= n / 2) from = Math.max(from, w);
    else to = Math.min(to, w);
  }
  if (to - from < 2 || (from === 0 && to === n)) return raw;
  const cut = (a: number[]) => a.slice(from, to);
  return { d: cut(raw.d), t: cut(raw.t), speed: cut(raw.speed), throttle: cut(raw.throttle), brake: cut(raw.brake) };
}

function resample(raw: Raw, grid: Float64Array): LapTrace {
  const n = grid.length;
  const out: LapTrace = {
    dist: grid,
    speed: new Float64Array(n),
    throttle: new Float64Array(n),
    brake: new Float64Array(n),
    time: new Float64Array(n),
    lapTime: raw.t[raw.t.length - 1]!,
  };
  let j = 0;
  const m = raw.d.length;
  for (let i = 0; i < n; i++) {
    const x = grid[i]!;
    while (j < m - 2 && raw.d[j + 1]! < x) j++;
    const d0 = raw.d[j]!;
    const d1 = raw.d[j + 1]!;
    const f = d1 > d0 ? Math.min(1, Math.max(0, (x - d0) / (d1 - d0))) : 0;
    const lerp = (a: number[]) => a[j]! + (a[j + 1]! - a[j]!) * f;
    out.speed[i] = lerp(raw.speed);
    out.throttle[i] = lerp(raw.throttle);
    out.brake[i] = lerp(raw.brake);
    out.time[i] = lerp(raw.t);
  }
  return out;
}

export function compareLaps(lapText: string, refText: string, trackLengthM: number | null = null, stepM = 5): Comparison {
  const a = parseLap(lapText, trackLengthM);
  const b = parseLap(refText, trackLengthM);
  const end = Math.min(a.d[a.d.length - 1]!, b.d[b.d.length - 1]!);
  const start = Math.max(a.d[0]!, b.d[0]!);
  const n = Math.max(2, Math.floor((end - start) / stepM) + 1);
  const grid = new Float64Array(n);
  for (let i = 0; i < n; i++) grid[i] = start + i * stepM;
  const lap = resample(a, grid);
  const ref = resample(b, grid);
  const delta = new Float64Array(n);
  for (let i = 0; i < n; i++) delta[i] = lap.time[i]! - ref.time[i]!;
  return { dist: grid, lap, ref, delta, lapTime: lap.lapTime, refTime: ref.lapTime };
}
