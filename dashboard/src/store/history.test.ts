import { describe, expect, it } from 'vitest';
import { SeriesBuffer, TelemetryHistory, type Sample } from './history';

const sample = (t: number): Sample => ({ t, speed: t * 2, rpm: 0, gear: 1, throttle: 0, brake: 0, steeringAngle: 0, fuelLevel: 0, wearFL: 0, wearFR: 0, wearRL: 0, wearRR: 0 });

describe('SeriesBuffer', () => {
  it('keeps the newest `capacity` samples across compactions, in order', () => {
    const b = new SeriesBuffer(10);
    for (let t = 1; t <= 57; t++) b.push(sample(t));
    expect(b.length).toBe(10);
    const [t, speed] = b.view(['speed']);
    expect(Array.from(t!)).toEqual([48, 49, 50, 51, 52, 53, 54, 55, 56, 57]);
    expect(Array.from(speed!)).toEqual([96, 98, 100, 102, 104, 106, 108, 110, 112, 114]);
    expect(b.version).toBe(57);
  });

  it('views a time window without copying and drops out-of-order samples', () => {
    const b = new SeriesBuffer(100);
    for (let t = 1; t <= 20; t++) b.push(sample(t));
    b.push(sample(5));
    expect(b.length).toBe(20);
    const [t] = b.view([], 15);
    expect(Array.from(t!)).toEqual([15, 16, 17, 18, 19, 20]);
  });

  it('history per driver; dropped buffers are reused', () => {
    const h = new TelemetryHistory(50);
    h.push('a', sample(1));
    h.push('b', sample(1));
    expect(h.get('a')!.length).toBe(1);
    h.drop('a');
    expect(h.get('a')).toBeUndefined();
    h.clear();
    expect(h.get('b')).toBeUndefined();
  });
});
