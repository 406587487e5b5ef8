// The track outline, learned from what cars actually drove: either latitude/longitude (recorded
// files) or, when there is no position fix (iRacing live), the followed car's own path integrated
// from speed and yaw rate, closed per lap. Points are kept in bins by trackPosition so that any
// car's trackPosition maps to a point on the outline.

export const BINS = 400;

export type OutlineSource = 'gps' | 'path' | 'none';

interface PathState {
  x: number;
  y: number;
  heading: number; // radians
  lastT: number;
  lastPos: number;
  pts: Array<[number, number, number]>; // trackPosition, x, y
}

export class TrackOutline {
  private sx = new Float64Array(BINS);
  private sy = new Float64Array(BINS);
  private n = new Uint32Array(BINS);
  private origin: [number, number] | null = null;
  private path: PathState | null = null;
  source: OutlineSource = 'none';
  version = 0;

  /** Share of bins with at least one point. */
  coverage(): number {
    let c = 0;
    for (let i = 0; i < BINS; i++) if (this.n[i]! > 0) c++;
    return c / BINS;
  }

  ready(): boolean {
    return this.coverage() >= 0.6;
  }

  private bin(pos: number): number {
    return Math.min(BINS - 1, Math.max(0, Math.floor(pos * BINS)));
  }

  private adds = 0;

  /** `version` changes when a bin gets its first point, and every 500 points after that, so
   * views redraw the outline when it grew, not on every sample of every car. */
  private add(pos: number, x: number, y: number): void {
    const b = this.bin(pos);
    this.sx[b]! += x;
    this.sy[b]! += y;
    this.n[b]! += 1;
    this.adds += 1;
    if (this.n[b] === 1 || this.adds % 500 === 0) this.version += 1;
  }

  /** A position fix: equirectangular metres around the first fix. */
  addGps(pos: number, lat: number, lon: number): void {
    if (this.source === 'path') this.reset();
    this.source = 'gps';
    if (!this.origin) this.origin = [lat, lon];
    const [lat0, lon0] = this.origin;
    const R = 6_371_000;
    const x = ((lon - lon0) * Math.PI * R * Math.cos((lat0 * Math.PI) / 180)) / 180;
    const y = ((lat - lat0) * Math.PI * R) / 180;
    this.add(pos, x, y);
  }

  /**
   * A sample without position: integrate speed (km/h) and yaw rate (deg/s). One complete lap
   * (trackPosition wraps) with the start and end joined by spreading the drift linearly becomes
   * the outline.
   */
  addPath(pos: number, tSec: number, speedKmh: number, yawRateDegS: number): void {
    if (this.source === 'gps') return;
    const p = this.path;
    if (!p) {
      this.path = { x: 0, y: 0, heading: 0, lastT: tSec, lastPos: pos, pts: [] };
      return;
    }
    const dt = tSec - p.lastT;
    if (dt <= 0 || dt > 1) {
      // a gap: restart this lap
      this.path = { x: 0, y: 0, heading: 0, lastT: tSec, lastPos: pos, pts: [] };
      return;
    }
    const v = speedKmh / 3.6;
    p.heading += (yawRateDegS * Math.PI * dt) / 180;
    p.x += v * Math.cos(p.heading) * dt;
    p.y += v * Math.sin(p.heading) * dt;
    p.lastT = tSec;
    const wrapped = p.lastPos > 0.9 && pos < 0.1;
    p.lastPos = pos;
    if (wrapped) {
      if (p.pts.length > 50 && p.pts[0]![0] < 0.05) this.closeLap(p.pts);
      this.path = { x: 0, y: 0, heading: 0, lastT: tSec, lastPos: pos, pts: [[pos, 0, 0]] };
      return;
    }
    p.pts.push([pos, p.x, p.y]);
  }

  private closeLap(pts: Array<[number, number, number]>): void {
    const [, x0, y0] = pts[0]!;
    const [, x1, y1] = pts[pts.length - 1]!;
    const dx = x1 - x0;
    const dy = y1 - y0;
    this.sx.fill(0);
    this.sy.fill(0);
    this.n.fill(0);
    this.source = 'path';
    pts.forEach(([pos, x, y], i) => {
      const f = i / (pts.length - 1);
      this.add(pos, x - dx * f, y - dy * f);
    });
  }

  reset(): void {
    this.sx.fill(0);
    this.sy.fill(0);
    this.n.fill(0);
    this.origin = null;
    this.path = null;
    this.source = 'none';
    this.version += 1;
  }

  /** Outline points (bins with data, in order), in metres. */
  points(): Array<[number, number]> {
    const out: Array<[number, number]> = [];
    for (let i = 0; i < BINS; i++) {
      const c = this.n[i]!;
      if (c > 0) out.push([this.sx[i]! / c, this.sy[i]! / c]);
    }
    return out;
  }

  /** The outline point for a trackPosition (nearest bin with data), or null. */
  at(pos: number): [number, number] | null {
    const b = this.bin(pos);
    for (let d = 0; d < BINS / 2; d++) {
      for (const i of [b + d, b - d]) {
        const k = ((i % BINS) + BINS) % BINS;
        const c = this.n[k]!;
        if (c > 0) return [this.sx[k]! / c, this.sy[k]! / c];
      }
    }
    return null;
  }
}
