import { memo, useState } from 'react';
import { useApp } from '../app/context';
import { clock } from '../app/format';
import type { AiCoaching } from '../protocol/types';
import { driverName } from '../store/app';
import { useServices } from '../app/context';
import { shallowEqual } from '../store/store';

const Item = memo(function Item({ c, who }: { c: AiCoaching; who: string }) {
  const a = c.telemetryAnalysis;
  return (
    <li className={`card coach p-${c.priority}`} data-testid="coaching">
      <div className="msg-head">
        <strong>{who}</strong>
        {c.lap !== undefined && <span>lap {c.lap}</span>}
        <span className={`pill p-${c.priority}`}>{c.priority}</span>
        <span className="muted">confidence {(c.confidence * 100).toFixed(0)} %</span>
        <time className="muted" dateTime={c.timestamp}>
          {clock(c.timestamp)}
        </time>
      </div>
      <p className="msg-body">{c.feedback}</p>
      <div className="coach-lists">
        {a.strengths.length > 0 && (
          <div>
            <h4>Strengths</h4>
            <ul>{a.strengths.map((s, i) => <li key={i}>{s}</li>)}</ul>
          </div>
        )}
        {a.weaknesses.length > 0 && (
          <div>
            <h4>Weaknesses</h4>
            <ul>{a.weaknesses.map((s, i) => <li key={i}>{s}</li>)}</ul>
          </div>
        )}
        {a.improvementAreas.length > 0 && (
          <div>
            <h4>To work on</h4>
            <ul>{a.improvementAreas.map((s, i) => <li key={i}>{s}</li>)}</ul>
          </div>
        )}
      </div>
    </li>
  );
});

export function Coaching() {
  const svc = useServices();
  const coaching = useApp((s) => s.coaching);
  const ids = useApp((s) => [...new Set(s.coaching.map((c) => c.driverId).filter((x): x is string => !!x))].sort(), shallowEqual);
  const [who, setWho] = useState('');
  const list = who ? coaching.filter((c) => c.driverId === who) : coaching;
  const s = svc.store.getState();
  return (
    <div className="view coaching">
      <div className="row">
        <h2>AI coaching</h2>
        {ids.length > 1 && (
          <label className="inline">
            Driver
            <select value={who} onChange={(e) => setWho(e.target.value)}>
              <option value="">all drivers</option>
              {ids.map((id) => (
                <option key={id} value={id}>
                  {driverName(s, id)}
                </option>
              ))}
            </select>
          </label>
        )}
      </div>
      {list.length === 0 ? (
        <p className="empty" role="status">
          No coaching yet: the coaching engine speaks after a driver completes a lap it can compare with a reference.
        </p>
      ) : (
        <ul className="coach-list">
          {list.map((c, i) => (
            <Item key={`${c.timestamp}-${c.driverId ?? ''}-${i}`} c={c} who={c.driverId ? driverName(s, c.driverId) : 'team'} />
          ))}
        </ul>
      )}
    </div>
  );
}
