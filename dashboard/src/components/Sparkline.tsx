import { memo } from 'react';

/** Lap-time trend: lower is faster, so the line goes up when the car speeds up. */
function SparklineImpl({ values, label, width = 80, height = 20 }: { values: readonly number[]; label: string; width?: number; height?: number }) {
  if (values.length < 2) return <span className="muted">—</span>;
  const min = Math.min(...values);
  const max = Math.max(...values);
  const span = max - min || 1;
  const pts = values.map((v, i) => `${((i / (values.length - 1)) * width).toFixed(1)},${(((v - min) / span) * (height - 2) + 1).toFixed(1)}`).join(' ');
  const last = values[values.length - 1]!;
  const prev = values[values.length - 2]!;
  const trend = last < prev ? 'faster' : last > prev ? 'slower' : 'same';
  return (
    <svg width={width} height={height} role="img" aria-label={`${label}: last lap ${trend}`} className={`spark ${trend}`}>
      <polyline points={pts} fill="none" strokeWidth="1.5" />
    </svg>
  );
}

export const Sparkline = memo(SparklineImpl);
