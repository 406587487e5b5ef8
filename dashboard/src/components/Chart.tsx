// A uPlot chart that streams: data is pulled from a getter on animation frames and pushed to
// uPlot only when `version()` changed and the chart is on screen, so 20–60 Hz telemetry costs
// at most one setData per visible chart per frame and no React render. The chart is destroyed,
// and its frame loop and observers released, on unmount.
import { memo, useEffect, useRef } from 'react';
import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';

export interface SeriesSpec {
  label: string;
  stroke: string;
  /** Step line (gear). */
  stepped?: boolean;
  scale?: string;
}

export interface ChartProps {
  title: string;
  series: SeriesSpec[];
  /** [x, ...ys]; typed arrays are fine. */
  getData: () => uPlot.AlignedData;
  version: () => number;
  height?: number;
  /** Fixed y range. */
  yRange?: [number, number];
  xTime?: boolean;
  xLabel?: string;
}

function ChartImpl({ title, series, getData, version, height = 140, yRange, xTime = true, xLabel }: ChartProps) {
  const host = useRef<HTMLDivElement>(null);
  const getRef = useRef(getData);
  const verRef = useRef(version);
  useEffect(() => {
    getRef.current = getData;
    verRef.current = version;
  }, [getData, version]);

  useEffect(() => {
    const el = host.current;
    if (!el) return;
    const opts: uPlot.Options = {
      width: Math.max(200, el.clientWidth),
      height,
      legend: { show: true, live: false },
      cursor: { drag: { x: false, y: false } },
      scales: { x: { time: xTime }, ...(yRange ? { y: { range: yRange } } : {}) },
      axes: [
        { stroke: '#9aa4b2', grid: { stroke: '#2a3038' }, ticks: { stroke: '#2a3038' }, ...(xLabel ? { label: xLabel } : {}) },
        { stroke: '#9aa4b2', grid: { stroke: '#2a3038' }, ticks: { stroke: '#2a3038' }, size: 50 },
      ],
      series: [
        {},
        ...series.map((s) => ({
          label: s.label,
          stroke: s.stroke,
          width: 1.5,
          ...(s.scale ? { scale: s.scale } : {}),
          ...(s.stepped ? { paths: uPlot.paths?.stepped?.({ align: 1 }) } : {}),
        })),
      ],
    };
    const plot = new uPlot(opts, getRef.current(), el);
    let seen = -1;
    let raf = 0;
    // Charts scrolled out of view are not redrawn (they catch up when they come back).
    let visible = true;
    const io =
      typeof IntersectionObserver !== 'undefined'
        ? new IntersectionObserver((entries) => {
            visible = entries.some((e) => e.isIntersecting);
          })
        : null;
    io?.observe(el);
    const tick = () => {
      raf = requestAnimationFrame(tick);
      if (document.hidden || !visible) return;
      const v = verRef.current();
      if (v === seen) return;
      seen = v;
      plot.setData(getRef.current());
    };
    raf = requestAnimationFrame(tick);
    const ro = typeof ResizeObserver !== 'undefined' ? new ResizeObserver(() => plot.setSize({ width: Math.max(200, el.clientWidth), height })) : null;
    ro?.observe(el);
    return () => {
      cancelAnimationFrame(raf);
      ro?.disconnect();
      io?.disconnect();
      plot.destroy();
    };
    // series/yRange are static per chart instance; a new spec remounts via `key`.
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [height, xTime]);

  return (
    <figure className="chart" aria-label={title}>
      <figcaption>{title}</figcaption>
      <div ref={host} className="chart-host" />
    </figure>
  );
}

export const Chart = memo(ChartImpl);
