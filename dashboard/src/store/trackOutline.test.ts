import { describe, expect, it } from 'vitest';
import { BINS, TrackOutline } from './trackOutline';

describe('TrackOutline', () => {
  it('learns from position fixes and maps trackPosition to points', () => {
    const o = new TrackOutline();
    expect(o.at(0.5)).toBeNull();
    for (let i = 0; i < BINS; i++) {
      const p = (i + 0.5) / BINS;
      o.addGps(p, 47 + 0.01 * Math.sin(2 * Math.PI * p), 14 + 0.01 * Math.cos(2 * Math.PI * p));
    }
    expect(o.source).toBe('gps');
    expect(o.coverage()).toBe(1);
    expect(o.ready()).toBe(true);
    const a = o.at(0)!;
    const b = o.at(0.5)!;
    const across = Math.hypot(a[1] - b[1], a[0] - b[0]); // 0.02° of longitude at 47° N ≈ 1.52 km
    expect(across).toBeGreaterThan(1450);
    expect(across).toBeLessThan(1600);
  });

  it('without position, integrates speed and yaw over a full lap and closes the loop', () => {
    const o = new TrackOutline();
    // a circle: constant speed 36 km/h (10 m/s), 60 s lap, 6 deg/s yaw
    let t = 0;
    for (let i = 0; i <= 1300; i++) {
      const pos = (i * 0.05) / 60;
      o.addPath(pos % 1, t, 36, 6);
      t += 0.05;
    }
    expect(o.source).toBe('path');
    expect(o.coverage()).toBeGreaterThan(0.9);
    const p0 = o.at(0)!;
    const p5 = o.at(0.5)!;
    // diameter of a 600 m circle ≈ 191 m
    expect(Math.hypot(p0[0] - p5[0], p0[1] - p5[1])).toBeGreaterThan(170);
    expect(Math.hypot(p0[0] - p5[0], p0[1] - p5[1])).toBeLessThan(210);
  });
});
