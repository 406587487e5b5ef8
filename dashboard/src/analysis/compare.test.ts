import { describe, expect, it } from 'vitest';
import { compareLaps, parseLap, rowsFromBody, trimCrossings } from './compare';

function lap(speedAt: (d: number) => number, lengthM = 1000) {
  const out = [];
  let t = 0;
  for (let d = 0; d <= lengthM; d += 2) {
    const v = speedAt(d) / 3.6;
    out.push({ lapDistance: d, lapTime: t, speed: speedAt(d), throttle: 100, brake: 0 });
    t += 2 / v;
  }
  return JSON.stringify(out);
}

describe('compareLaps', () => {
  it('identical laps have zero delta everywhere', () => {
    const a = lap(() => 180);
    const c = compareLaps(a, a);
    expect(Math.max(...Array.from(c.delta).map(Math.abs))).toBeLessThan(1e-9);
    expect(c.lapTime).toBeCloseTo(c.refTime);
  });

  it('a lap slower in the second half loses time only there', () => {
    const ref = lap(() => 180);
    const slow = lap((d) => (d < 500 ? 180 : 150));
    const c = compareLaps(slow, ref, null, 10);
    const mid = c.delta[Math.floor(c.dist.length / 2) - 2]!;
    const end = c.delta[c.dist.length - 1]!;
    expect(Math.abs(mid)).toBeLessThan(0.01);
    // 500 m at 150 vs 180 km/h: 12 − 10 = 2 s
    expect(end).toBeCloseTo(2, 1);
    expect(c.lapTime - c.refTime).toBeCloseTo(2, 1);
  });

  it('reads columnar bodies and trackPosition with the track length', () => {
    const cols = { channels: { trackPosition: [0, 0.5, 1], speed: [100, 100, 100], sessionTime: [10, 28, 46] } };
    const r = parseLap(JSON.stringify(cols), 1000);
    expect(r.d).toEqual([0, 500, 1000]);
    expect(r.t).toEqual([0, 18, 36]);
  });

  it('refuses a lap with no usable samples', () => {
    expect(() => compareLaps('[]', '[]')).toThrow(/no samples/);
    expect(() => compareLaps('[{"a":1},{"a":2}]', '[]')).toThrow(/distance or time/);
  });
});

describe('the cloud lap telemetry body (columns)', () => {
  it('turns timestamps and dotted channels into samples and compares on them', () => {
    const body = (slow: number) =>
      JSON.stringify({
        lapId: 'l1',
        sampleCount: 3,
        timestamps: [1_000, 1_000 + 5_000 * slow, 1_000 + 10_000 * slow],
        channels: { lapDistance: [0, 500, 1000], speed: [180, 180, 180], 'tireWear.frontLeft': [1, 2, 3] },
      });
    const rows = rowsFromBody(JSON.parse(body(1)));
    expect(rows![1]).toEqual({ timestamp: '1970-01-01T00:00:06.000Z', lapDistance: 500, speed: 180, tireWear: { frontLeft: 2 } });
    const c = compareLaps(body(1.1), body(1), null, 100);
    expect(c.lapTime).toBeCloseTo(11);
    expect(c.delta[c.delta.length - 1]).toBeCloseTo(1);
  });
});

describe('trimCrossings', () => {
  it('drops the samples of the previous lap before the wrap at the line and after the next one', () => {
    const raw = {
      d: [679, 681, 2, 100, 300, 500, 678, 1],
      t: [25.9, 25.92, 0.02, 3, 8, 14, 23.97, 0.01],
      speed: [1, 1, 1, 1, 1, 1, 1, 1],
      throttle: [0, 0, 0, 0, 0, 0, 0, 0],
      brake: [0, 0, 0, 0, 0, 0, 0, 0],
    };
    const out = trimCrossings(raw);
    expect(out.d).toEqual([2, 100, 300, 500, 678]);
    expect(out.t[0]).toBe(0.02);
    // The lap clock resetting a sample after the distance wrapped: that sample goes too.
    const late = { ...raw, d: [681, 1, 3, 100, 300, 500, 678], t: [25.92, 25.94, 0.01, 3, 8, 14, 23.97], speed: [1, 1, 1, 1, 1, 1, 1], throttle: [0, 0, 0, 0, 0, 0, 0], brake: [0, 0, 0, 0, 0, 0, 0] };
    expect(trimCrossings(late).t).toEqual([0.01, 3, 8, 14, 23.97]);
    // A lap without wraps is kept whole.
    const clean = { ...raw, d: [0, 100, 200], t: [0, 1, 2], speed: [1, 1, 1], throttle: [0, 0, 0], brake: [0, 0, 0] };
    expect(trimCrossings(clean)).toBe(clean);
  });
});
