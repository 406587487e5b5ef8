import { memo, useCallback, useMemo, useState } from 'react';
import { useApp } from '../app/context';
import { gap, lapTime } from '../app/format';
import { EntryName } from '../components/DriverName';
import { SessionPicker } from '../components/SessionPicker';
import { Sparkline } from '../components/Sparkline';
import { VirtualList } from '../components/VirtualList';
import type { StandingsEntry } from '../protocol/types';
import { sessionKey, viewedStandings } from '../store/app';

const ROW_H = 36;

const Row = memo(function Row({ e, pace, skey }: { e: StandingsEntry; pace: readonly number[] | undefined; skey: string | undefined }) {
  return (
    <div className={`srow${e.isTeamCar ? ' team' : ''}${e.onPitRoad ? ' pit' : ''}`} data-testid={`standing-${e.carIdx}`}>
      <span role="cell" className="c-pos">
        {e.position}
      </span>
      <span role="cell" className="c-cls">
        {e.carClass} {e.classPosition}
      </span>
      <span role="cell" className="c-num">
        #{e.carNumber}
      </span>
      <span role="cell" className="c-name">
        <EntryName e={e} sessionKey={skey} />
        <span className="muted small"> {e.teamName}</span>
      </span>
      <span role="cell" className="c-lap">
        {e.lap}
      </span>
      <span role="cell" className="c-gap">
        {gap(e.gapToLeader)}
      </span>
      <span role="cell" className="c-gap">
        {e.gapToAhead === null ? '—' : gap(e.gapToAhead)}
      </span>
      <span role="cell" className="c-time">
        {lapTime(e.lastLapTime)}
      </span>
      <span role="cell" className="c-time">
        {lapTime(e.bestLapTime)}
      </span>
      <span role="cell" className="c-pit">
        {e.onPitRoad ? 'PIT' : ''} {e.pitStops}
      </span>
      <span role="cell" className="c-trend">
        <Sparkline values={pace ?? []} label={`Pace of #${e.carNumber}`} />
      </span>
    </div>
  );
});

const HEADER = (
  <div role="rowgroup">
    <div role="row" aria-rowindex={1} className="srow head">
      {['Pos', 'Class', 'Car', 'Driver / team', 'Lap', 'Gap', 'Interval', 'Last', 'Best', 'Pit stops', 'Pace'].map((h) => (
        <span role="columnheader" key={h}>
          {h}
        </span>
      ))}
    </div>
  </div>
);

const NO_PACE: Record<number, number[]> = {};

export function Standings() {
  const standings = useApp(viewedStandings);
  const pace = useApp((s) => (standings ? s.pace[sessionKey(standings)] : undefined)) ?? NO_PACE;
  const [cls, setCls] = useState('');
  const classes = useMemo(() => [...new Set((standings?.entries ?? []).map((e) => e.carClass))].sort(), [standings]);
  const items = useMemo(() => (standings?.entries ?? []).filter((e) => !cls || e.carClass === cls).sort((a, b) => a.position - b.position), [standings, cls]);
  const keyOf = useCallback((e: StandingsEntry) => e.carIdx, []);
  const skey = standings ? sessionKey(standings) : undefined;
  const renderRow = useCallback((e: StandingsEntry) => <Row e={e} pace={pace[e.carIdx]} skey={skey} />, [pace, skey]);
  const height = Math.min(items.length * ROW_H + 2, 640);
  return (
    <div className="view standings">
      <div className="row">
        <h2>Competitors</h2>
        <SessionPicker />
        {classes.length > 1 && (
          <label className="inline">
            Class
            <select value={cls} onChange={(e) => setCls(e.target.value)}>
              <option value="">all</option>
              {classes.map((c) => (
                <option key={c}>{c}</option>
              ))}
            </select>
          </label>
        )}
        {standings && <span className="muted">{standings.entries.length} cars</span>}
      </div>
      {!standings ? (
        <p className="empty" role="status">
          No standings yet: they arrive about twice a second from the team's car once it is in a session.
        </p>
      ) : (
        <VirtualList items={items} rowHeight={ROW_H} height={Math.max(height, ROW_H)} keyOf={keyOf} renderRow={renderRow} label="Standings" header={HEADER} />
      )}
    </div>
  );
}
