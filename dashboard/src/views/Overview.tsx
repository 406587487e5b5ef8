import { memo, useCallback } from 'react';
import { useApp, useServices } from '../app/context';
import { ago, carState, duration, gearText, lapTime, num, staleFor } from '../app/format';
import { Freshness } from '../components/Freshness';
import { navigate, useNow } from '../app/hooks';
import { DriverLabelView } from '../components/DriverName';
import { driverLabel, driverLabelText, standingsForDriver, stintStart, type DriverView } from '../store/app';
import { shallowEqual } from '../store/store';

const ORDER = { active: 0, standby: 1, inactive: 2 } as const;

function sortDrivers(ds: DriverView[]): DriverView[] {
  return ds.slice().sort((a, b) => Number(b.inCar) - Number(a.inCar) || (ORDER[a.status ?? 'inactive'] ?? 3) - (ORDER[b.status ?? 'inactive'] ?? 3) || a.id.localeCompare(b.id));
}

const CarCard = memo(function CarCard({ d, now }: { d: DriverView; now: number }) {
  const carIdx = useApp((s) => s.carIdxByDriver[d.id]);
  // The standings of this driver's own session: a car index means nothing in another session.
  const entry = useApp((s) => (carIdx === undefined ? undefined : standingsForDriver(s, d.id)?.entries.find((e) => e.carIdx === carIdx)));
  const t = d.latest;
  const position = entry?.position ?? t?.position ?? null;
  const last = entry?.lastLapTime ?? d.lastLapTime;
  const since = stintStart(d);
  const stint = since !== null ? Math.max(0, now - since.at) : null;
  const label = driverLabel(d);
  const state = carState(t, entry?.onPitRoad);
  const stale = staleFor(d.latestAt, now) !== null;
  return (
    <section className={stale ? 'card car stale' : 'card car'} aria-label={`Car of ${driverLabelText(label)}`}>
      <h3>
        In the car: <DriverLabelView label={label} /> <Freshness latestAt={d.latestAt} now={now} name={d.name ?? d.id} />
      </h3>
      <dl className="kv big">
        <div>
          <dt>Position</dt>
          <dd data-testid="car-position">{position ? `P${position}` : '—'}</dd>
        </div>
        <div>
          <dt>Lap</dt>
          <dd data-testid="car-lap">{t ? t.lap : '—'}</dd>
        </div>
        <div>
          <dt>Last lap</dt>
          <dd>{lapTime(last)}</dd>
        </div>
        <div>
          <dt>Best lap</dt>
          <dd>{lapTime(entry?.bestLapTime)}</dd>
        </div>
        <div>
          <dt>Fuel</dt>
          <dd className={t && t.fuelLevel < 10 ? 'bad' : undefined}>{num(t?.fuelLevel, 1, ' %')}</dd>
        </div>
        <div>
          <dt>Stint</dt>
          <dd data-testid="car-stint" title={since === null || since.exact ? 'since the driver got in' : 'since this dashboard saw the driver in the car'}>
            {since === null || since.exact ? '' : '≥ '}
            {duration(stint)}
          </dd>
        </div>
        <div>
          <dt>Speed / gear</dt>
          <dd data-testid="car-speed">
            {num(t?.speed, 0, ' km/h')} · {gearText(t?.gear)}
          </dd>
        </div>
        <div>
          <dt>Car</dt>
          <dd data-testid="car-state" className={state.live ? undefined : 'notlive'}>
            {state.text}
          </dd>
        </div>
      </dl>
    </section>
  );
});

const DriverRow = memo(function DriverRow({ d, now }: { d: DriverView; now: number }) {
  const open = useCallback(() => navigate(`/telemetry/${encodeURIComponent(d.id)}`), [d.id]);
  return (
    <tr className={d.inCar ? 'in-car' : undefined}>
      <th scope="row">
        <button type="button" className="link" onClick={open} title="Open live telemetry">
          <DriverLabelView label={driverLabel(d)} showRole={false} />
        </button>
      </th>
      <td>{d.role ?? '—'}</td>
      <td>
        <span className={`pill ${d.status ?? 'unknown'}`}>{d.status ?? 'unknown'}</span>
      </td>
      <td>{d.inCar ? 'in the car' : '—'}</td>
      <td>
        {d.telemetryConnected ? 'connected' : 'not connected'} <Freshness latestAt={d.latestAt} now={now} name={d.name ?? d.id} />
      </td>
      <td>{d.lastActive ? ago(d.lastActive, now) : '—'}</td>
    </tr>
  );
});

export function Overview() {
  const drivers = useApp((s) => Object.values(s.drivers), shallowEqual);
  const session = useApp((s) => s.session);
  const profilesAvailable = useApp((s) => s.profilesAvailable);
  const { config } = useServices();
  const now = useNow(1000);
  const sorted = sortDrivers(drivers);
  const inCar = sorted.filter((d) => d.inCar);
  return (
    <div className="view overview">
      <h2>Team overview</h2>
      {session && (
        <p className="muted">
          {session.track.displayName} {session.track.configName} · {session.carName} · {session.sessionType}
        </p>
      )}
      {sorted.length === 0 ? (
        <p className="empty" role="status">
          No drivers yet. A driver appears here as soon as their PitBox driver app connects to the {config.serverName}
          {profilesAvailable === false ? ' (this server has no driver profiles API, so only connected drivers are listed)' : ''}.
        </p>
      ) : (
        <>
          <div className="cards">
            {inCar.length === 0 ? (
              <p className="empty">Nobody is in the car right now.</p>
            ) : (
              inCar.map((d) => <CarCard key={d.id} d={d} now={now} />)
            )}
          </div>
          <table className="grid drivers">
            <caption>Drivers</caption>
            <thead>
              <tr>
                <th scope="col">Driver</th>
                <th scope="col">Role</th>
                <th scope="col">Status</th>
                <th scope="col">Car</th>
                <th scope="col">Telemetry</th>
                <th scope="col">Last active</th>
              </tr>
            </thead>
            <tbody>
              {sorted.map((d) => (
                <DriverRow key={d.id} d={d} now={now} />
              ))}
            </tbody>
          </table>
        </>
      )}
    </div>
  );
}
