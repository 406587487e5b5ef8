import { age, staleFor } from '../app/format';

/** "stale · 12 s old" beside a driver whose newest sample is older than 2 s (or `afterMs`);
 * nothing while their data is fresh or before any sample came. The header's "Live" speaks only
 * of the link. */
export function Freshness({ latestAt, now, name, afterMs }: { latestAt: number | null; now: number; name: string; afterMs?: number }) {
  const ms = staleFor(latestAt, now, afterMs);
  if (ms === null) return null;
  return (
    <span className="pill stale" data-testid="stale" title={`No sample from ${name} for ${age(ms).replace(' old', '')}: the numbers shown are the last ones received`}>
      stale · {age(ms)}
    </span>
  );
}
