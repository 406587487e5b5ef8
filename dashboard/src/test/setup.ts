import '@testing-library/jest-dom/vitest';
import { afterEach, vi } from 'vitest';
import { cleanup } from '@testing-library/react';

// uPlot needs a real canvas: in jsdom it is replaced by a recorder (tests check it is created,
// fed and destroyed).
vi.mock('uplot', () => {
  class FakePlot {
    static instances: FakePlot[] = [];
    static paths = { stepped: () => null };
    data: unknown;
    destroyed = false;
    constructor(_opts: unknown, data: unknown) {
      this.data = data;
      FakePlot.instances.push(this);
    }
    setData(d: unknown) {
      this.data = d;
    }
    setSize() {}
    destroy() {
      this.destroyed = true;
    }
  }
  return { default: FakePlot };
});
vi.mock('uplot/dist/uPlot.min.css', () => ({}));

afterEach(() => {
  cleanup();
  if (typeof sessionStorage !== 'undefined') sessionStorage.clear();
});
