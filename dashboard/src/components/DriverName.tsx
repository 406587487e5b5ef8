import { useApp } from '../app/context';
import type { StandingsEntry } from '../protocol/types';
import { driverLabel, driverName, teamCarDriver, type DriverLabel } from '../store/app';
import { shallowEqual } from '../store/store';

/** A driver as the pit wall names them: the team profile's name, number and role, and the
 * sim's name beside it (muted) when it differs — "Alex Driver #7 · primary — sim: Alex Novak".
 * Without a profile, the sim's name alone. */
export function DriverLabelView({ label, showRole = true }: { label: DriverLabel; showRole?: boolean }) {
  return (
    <>
      <span className="driver-name">{label.name}</span>
      {label.number !== null && <span className="driver-number"> #{label.number}</span>}
      {showRole && label.role && <span className="driver-role muted"> · {label.role}</span>}
      {label.sim && (
        <span className="sim-name muted small" title="The name the sim gives this driver">
          {' '}
          — sim: {label.sim}
        </span>
      )}
    </>
  );
}

/** [DriverLabelView] of the driver `id` from the store (`fallback` when the store has no name). */
export function DriverName({ id, fallback, showRole }: { id: string; fallback?: string; showRole?: boolean }) {
  const label = useApp((s) => driverLabel(s.drivers[id], fallback ?? driverName(s, id)), shallowEqual);
  return <DriverLabelView label={label} showRole={showRole} />;
}

/** A standings entry's driver: for the team's car, the team profile's label (with the sim's
 * name beside it when it differs); other cars as the sim names them. */
export function EntryName({ e, sessionKey }: { e: Pick<StandingsEntry, 'carIdx' | 'driverName' | 'isTeamCar'>; sessionKey?: string }) {
  const label = useApp((s) => {
    if (!e.isTeamCar) return null;
    const id = teamCarDriver(s, e.carIdx, sessionKey);
    if (id === null) return null;
    const d = s.drivers[id];
    if (!d || d.role === null) return null;
    const l = driverLabel(d, e.driverName);
    return { ...l, sim: l.name !== e.driverName ? e.driverName : null };
  }, shallowEqual);
  if (!label) return <>{e.driverName}</>;
  return <DriverLabelView label={label} showRole={false} />;
}
