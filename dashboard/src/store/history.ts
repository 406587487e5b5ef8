// Per-driver telemetry history for the streaming charts, kept outside React state: columns of
// Float64Array in a sliding window (capacity 2N, compacted to N when full, so appends are
// amortised O(1) and charts get zero-copy subarray views). Buffers are pooled and reused when a
// driver's history is dropped.

export const CHANNELS = [
  'speed',
  'rpm',
  'gear',
  'throttle',
  'brake',
  'steeringAngle',
  'fuelLevel',
  'wearFL',
  'wearFR',
  'wearRL',
  'wearRR',
] as const;
export type ChannelName = (typeof CHANNELS)[number];

export interface Sample {
  t: number; // seconds (epoch)
  speed: number;
  rpm: number;
  gear: number;
  throttle: number;
  brake: number;
  steeringAngle: number;
  fuelLevel: number;
  wearFL: number;
  wearFR: number;
  wearRL: number;
  wearRR: number;
}

const pool: Float64Array[] = [];
function take(n: number): Float64Array {
  const i = pool.findIndex((b) => b.length === n);
  if (i >= 0) return pool.splice(i, 1)[0] as Float64Array;
  return new Float64Array(n);
}

export class SeriesBuffer {
  readonly capacity: number;
  private cols: Float64Array[];
  private start = 0;
  private end = 0;
  /** Bumped on every append: charts redraw only when it changed. */
  version = 0;

  constructor(capacity = 1200) {
    this.capacity = capacity;
    this.cols = Array.from({ length: CHANNELS.length + 1 }, () => take(capacity * 2));
  }

  get length(): number {
    return this.end - this.start;
  }

  push(s: Sample): void {
    if (this.length > 0 && s.t < this.lastTime()) return; // out of order: drop
    if (this.end === this.capacity * 2) {
      // Compact the newest `capacity - 1` samples to the front.
      const keep = this.capacity - 1;
      const from = this.end - keep;
      for (const c of this.cols) c.copyWithin(0, from, this.end);
      this.start = 0;
      this.end = keep;
    }
    const i = this.end;
    (this.cols[0] as Float64Array)[i] = s.t;
    for (let k = 0; k < CHANNELS.length; k++) (this.cols[k + 1] as Float64Array)[i] = s[CHANNELS[k] as ChannelName];
    this.end += 1;
    if (this.length > this.capacity) this.start = this.end - this.capacity;
    this.version += 1;
  }

  lastTime(): number {
    return this.length ? (this.cols[0] as Float64Array)[this.end - 1]! : -Infinity;
  }

  /** Zero-copy views [t, ...channels] of the samples newer than `sinceT`. */
  view(channels: readonly ChannelName[], sinceT = -Infinity): Float64Array[] {
    const t = this.cols[0] as Float64Array;
    let lo = this.start;
    let hi = this.end;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (t[mid]! < sinceT) lo = mid + 1;
      else hi = mid;
    }
    return [t.subarray(lo, this.end), ...channels.map((c) => (this.cols[CHANNELS.indexOf(c) + 1] as Float64Array).subarray(lo, this.end))];
  }

  release(): void {
    for (const c of this.cols) pool.push(c);
    this.cols = [];
  }
}

export class TelemetryHistory {
  private buffers = new Map<string, SeriesBuffer>();
  constructor(private readonly capacity = 1200) {}

  get(driverId: string): SeriesBuffer | undefined {
    return this.buffers.get(driverId);
  }

  push(driverId: string, s: Sample): void {
    let b = this.buffers.get(driverId);
    if (!b) {
      b = new SeriesBuffer(this.capacity);
      this.buffers.set(driverId, b);
    }
    b.push(s);
  }

  drop(driverId: string): void {
    this.buffers.get(driverId)?.release();
    this.buffers.delete(driverId);
  }

  clear(): void {
    for (const id of [...this.buffers.keys()]) this.drop(id);
  }
}
