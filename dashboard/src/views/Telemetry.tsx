import { memo, useCallback, useEffect, useMemo } from 'react';
import type uPlot from 'uplot';
import { useApp, useServices } from '../app/context';
import { age, gearText, num, staleFor } from '../app/format';
import { DriverName } from '../components/DriverName';
import { Freshness } from '../components/Freshness';
import { navigate, useNow } from '../app/hooks';
import { Chart, type SeriesSpec } from '../components/Chart';
import type { ChannelName } from '../store/history';
import { shallowEqual } from '../store/store';

const WINDOW_S = 60;

interface ChartDef {
  title: string;
  channels: ChannelName[];
  series: SeriesSpec[];
  yRange?: [number, number];
}

const CHARTS: ChartDef[] = [
  { title: 'Speed (km/h)', channels: ['speed'], series: [{ label: 'speed', stroke: '#4fc3f7' }] },
  { title: 'RPM', channels: ['rpm'], series: [{ label: 'rpm', stroke: '#ffb74d' }] },
  {
    title: 'Throttle and brake (%)',
    channels: ['throttle', 'brake'],
    series: [
      { label: 'throttle', stroke: '#66bb6a' },
      { label: 'brake', stroke: '#ef5350' },
    ],
    yRange: [0, 100],
  },
  { title: 'Gear', channels: ['gear'], series: [{ label: 'gear', stroke: '#ce93d8', stepped: true }] },
  { title: 'Steering (°, negative = left)', channels: ['steeringAngle'], series: [{ label: 'steering', stroke: '#90a4ae' }] },
  { title: 'Fuel (% of tank)', channels: ['fuelLevel'], series: [{ label: 'fuel', stroke: '#fff176' }] },
  {
    title: 'Tyre wear (% worn)',
    channels: ['wearFL', 'wearFR', 'wearRL', 'wearRR'],
    series: [
      { label: 'FL', stroke: '#4dd0e1' },
      { label: 'FR', stroke: '#81c784' },
      { label: 'RL', stroke: '#ffd54f' },
      { label: 'RR', stroke: '#e57373' },
    ],
  },
];

const StreamChart = memo(function StreamChart({ driverId, def }: { driverId: string; def: ChartDef }) {
  const { sinks } = useServices();
  const getData = useCallback((): uPlot.AlignedData => {
    const b = sinks.history.get(driverId);
    if (!b || b.length === 0) return [[], ...def.channels.map(() => [])] as unknown as uPlot.AlignedData;
    return b.view(def.channels, b.lastTime() - WINDOW_S) as unknown as uPlot.AlignedData;
  }, [sinks, driverId, def]);
  const version = useCallback(() => sinks.history.get(driverId)?.version ?? 0, [sinks, driverId]);
  return <Chart title={def.title} series={def.series} getData={getData} version={version} {...(def.yRange ? { yRange: def.yRange } : {})} />;
});

function Tile({ label, value, testId }: { label: string; value: string; testId?: string }) {
  return (
    <div className="tile">
      <span className="tile-label">{label}</span>
      <span className="tile-value" data-testid={testId}>
        {value}
      </span>
    </div>
  );
}

export function Telemetry({ driverId }: { driverId: string | null }) {
  const { store } = useServices();
  const ids = useApp((s) => Object.keys(s.drivers).sort(), shallowEqual);
  const names = useApp((s) => Object.fromEntries(Object.values(s.drivers).map((d) => [d.id, d.name ?? d.id])), shallowEqual);
  const chosen = driverId ?? ids.find((id) => store.getState().drivers[id]?.inCar) ?? ids[0] ?? null;
  const t = useApp((s) => (chosen ? (s.drivers[chosen]?.latest ?? null) : null));
  const latestAt = useApp((s) => (chosen ? (s.drivers[chosen]?.latestAt ?? null) : null));
  const now = useNow(1000);

  useEffect(() => {
    store.setState((s) => (s.selectedDriverId === chosen ? s : { ...s, selectedDriverId: chosen }));
  }, [store, chosen]);

  const charts = useMemo(() => (chosen ? CHARTS.map((c) => <StreamChart key={`${chosen}-${c.title}`} driverId={chosen} def={c} />) : null), [chosen]);

  return (
    <div className="view telemetry">
      <div className="row">
        <h2>Live telemetry</h2>
        <label className="inline">
          Driver
          <select value={chosen ?? ''} onChange={(e) => navigate(`/telemetry/${encodeURIComponent(e.target.value)}`)} disabled={ids.length === 0}>
            {ids.length === 0 && <option value="">no drivers yet</option>}
            {ids.map((id) => (
              <option key={id} value={id}>
                {names[id]}
              </option>
            ))}
          </select>
        </label>
        {t && (staleFor(latestAt, now) === null ? <span className="muted">sample {age(latestAt === null ? null : Math.max(0, now - latestAt))}</span> : <Freshness latestAt={latestAt} now={now} name={(chosen && names[chosen]) || 'this driver'} />)}
      </div>
      {chosen && (
        <p className="driver-line" data-testid="telemetry-driver">
          <DriverName id={chosen} />
        </p>
      )}
      {!chosen ? (
        <p className="empty" role="status">
          No telemetry yet: traces start when a driver's car is on track and their driver app is connected.
        </p>
      ) : !t ? (
        <p className="empty" role="status">
          No telemetry from {names[chosen] ?? chosen} yet.
        </p>
      ) : (
        <div className="tiles" aria-label="Current values">
          <Tile label="Speed" value={num(t.speed, 0, ' km/h')} testId="tele-speed" />
          <Tile label="RPM" value={num(t.rpm, 0)} testId="tele-rpm" />
          <Tile label="Gear" value={gearText(t.gear)} />
          <Tile label="Throttle" value={num(t.throttle, 0, ' %')} />
          <Tile label="Brake" value={num(t.brake, 0, ' %')} />
          <Tile label="Steering" value={num(t.steeringAngle, 0, '°')} />
          <Tile label="Fuel" value={num(t.fuelLevel, 1, ' %')} />
          <Tile label="Lap / sector" value={`${t.lap} / ${t.sector || '—'}`} />
          <Tile
            label="Tyre wear FL FR RL RR"
            value={`${num(t.tireWear.frontLeft, 0)} ${num(t.tireWear.frontRight, 0)} ${num(t.tireWear.rearLeft, 0)} ${num(t.tireWear.rearRight, 0)} %`}
          />
        </div>
      )}
      {chosen && t && <div className="charts">{charts}</div>}
    </div>
  );
}
