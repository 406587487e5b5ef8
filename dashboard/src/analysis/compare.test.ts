import { describe, expect, it } from 'vitest';
import { compareLaps, parseLap, rowsFromBody } from './compare';

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
