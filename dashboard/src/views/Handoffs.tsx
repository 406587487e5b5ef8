import { DriverName } from '../components/DriverName';
import { memo, useState, type FormEvent } from 'react';
import { useApp, useServices } from '../app/context';
import { clock, gearText, num } from '../app/format';
import type { HandoffRequest, HandoffStatus, TelemetrySnapshot } from '../protocol/types';
import { driverName, type HandoffView } from '../store/app';
import { shallowEqual } from '../store/store';
import { newId } from './Messages';

const STATES: HandoffStatus[] = ['pending', 'accepted', 'completed'];

function StateMachine({ status }: { status: HandoffStatus }) {
  const steps = status === 'rejected' ? (['pending', 'rejected'] as HandoffStatus[]) : STATES;
  const at = steps.indexOf(status);
  return (
    <ol className="machine" aria-label={`State: ${status}`}>
      {steps.map((s, i) => (
        <li key={s} className={i < at ? 'done' : i === at ? `current ${s}` : 'todo'} aria-current={i === at ? 'step' : undefined}>
          {s}
        </li>
      ))}
    </ol>
  );
}

function Snapshot({ t }: { t: TelemetrySnapshot | null }) {
  if (!t) return <p className="muted small">No telemetry snapshot (the car had sent none).</p>;
  return (
    <dl className="kv small" aria-label="Telemetry snapshot">
      <div>
        <dt>Lap</dt>
        <dd>{t.lap}</dd>
      </div>
      <div>
        <dt>Track</dt>
        <dd>{(t.trackPosition * 100).toFixed(1)} %</dd>
      </div>
      <div>
        <dt>Speed</dt>
        <dd>
          {num(t.speed, 0, ' km/h')} · {gearText(t.gear)}
        </dd>
      </div>
      <div>
        <dt>Fuel</dt>
        <dd>{num(t.fuelLevel, 1, ' %')}</dd>
      </div>
      <div>
        <dt>Tyres worn</dt>
        <dd>
          {num(t.tireWear.frontLeft, 0)}/{num(t.tireWear.frontRight, 0)}/{num(t.tireWear.rearLeft, 0)}/{num(t.tireWear.rearRight, 0)} %
        </dd>
      </div>
      <div>
        <dt>At</dt>
        <dd>{clock(t.timestamp)}</dd>
      </div>
    </dl>
  );
}

/** Who last moved a handoff: one of its two drivers by their team label, this user by name,
 * anyone else (an engineer, an admin) as the pit wall. */
function Responder({ r, meId, meName }: { r: HandoffRequest; meId: string | null; meName: string | null }) {
  const id = r.responderId ?? '';
  if (id === r.requesterId) return <DriverName id={id} fallback={r.requesterName} showRole={false} />;
  if (id === r.targetDriverId) return <DriverName id={id} fallback={r.targetDriverName} showRole={false} />;
  if (id === meId && meName) return <>{meName}</>;
  return <span title={id}>the pit wall</span>;
}

const HandoffCard = memo(function HandoffCard({ h, meId, meRole, meName }: { h: HandoffView; meId: string | null; meRole: string | null; meName: string | null }) {
  const svc = useServices();
  const r = h.req;
  const engineer = meRole === 'engineer' || meRole === 'admin';
  const canRespond = r.status === 'pending' && (engineer || meId === r.targetDriverId);
  const canComplete = r.status === 'accepted' && (engineer || meId === r.targetDriverId || meId === r.requesterId);
  const respond = (status: 'accepted' | 'rejected' | 'completed') => {
    if (!meId) return;
    const data = { handoffId: r.id, status, responderId: meId, respondedAt: new Date().toISOString() };
    svc.send({ type: 'handoff_response', data });
  };
  return (
    <li className={`card handoff u-${r.urgency} s-${r.status}`} data-testid="handoff" data-status={r.status}>
      <h3>
        <DriverName id={r.requesterId} fallback={r.requesterName} showRole={false} /> → <DriverName id={r.targetDriverId} fallback={r.targetDriverName} showRole={false} />
        {r.urgency === 'urgent' && <span className="pill p-urgent">urgent</span>}
      </h3>
      <StateMachine status={r.status} />
      <p>{r.reason}</p>
      <p className="muted small">
        requested {clock(r.requestedAt)} ·{' '}
        {h.history
          .slice(1)
          .map((x) => `${x.status} ${clock(x.at)}`)
          .join(' · ')}
      </p>
      {r.respondedAt && r.responderId && (
        <p className="muted small" data-testid="handoff-answer">
          {r.status} by <Responder r={r} meId={meId} meName={meName} /> at {clock(r.respondedAt)}
        </p>
      )}
      <Snapshot t={r.telemetrySnapshot} />
      <div className="actions">
        {canRespond && (
          <>
            <button type="button" onClick={() => respond('accepted')}>
              Accept
            </button>
            <button type="button" className="danger" onClick={() => respond('rejected')}>
              Reject
            </button>
          </>
        )}
        {canComplete && (
          <button type="button" onClick={() => respond('completed')}>
            Mark completed (driver change done)
          </button>
        )}
      </div>
    </li>
  );
});

export function Handoffs() {
  const svc = useServices();
  const handoffs = useApp((s) => Object.values(s.handoffs), shallowEqual);
  const me = useApp((s) => s.me);
  const driverIds = useApp((s) => Object.keys(s.drivers).sort(), shallowEqual);
  const [target, setTarget] = useState('');
  const [reason, setReason] = useState('');
  const [urgency, setUrgency] = useState<'normal' | 'urgent'>('normal');
  const [note, setNote] = useState<string | null>(null);
  const canRequest = me && me.role !== 'viewer';
  const sorted = handoffs.slice().sort((a, b) => b.req.requestedAt.localeCompare(a.req.requestedAt));

  const submit = (e: FormEvent) => {
    e.preventDefault();
    if (!me || !target) return;
    const s = svc.store.getState();
    const inCar = Object.values(s.drivers).find((d) => d.inCar);
    const snapshotFrom = s.drivers[me.id]?.latest ?? inCar?.latest ?? null;
    let snap: TelemetrySnapshot | null = null;
    if (snapshotFrom) {
      const { timestamp, speed, rpm, gear, throttle, brake, steeringAngle, latitude, longitude, trackPosition, lap, sector, fuelLevel, tireWear } = snapshotFrom;
      snap = { timestamp, speed, rpm, gear, throttle, brake, steeringAngle, latitude, longitude, trackPosition, lap, sector, fuelLevel, tireWear };
    }
    const req: HandoffRequest = {
      id: newId('ho'),
      requesterId: me.id,
      requesterName: me.username,
      targetDriverId: target,
      targetDriverName: driverName(s, target),
      reason: reason.trim() || 'Driver change',
      urgency,
      requestedAt: new Date().toISOString(),
      status: 'pending',
      telemetrySnapshot: snap,
    };
    const r = svc.send({ type: 'handoff_request', data: req });
    setNote(r === 'queued' ? 'Not connected: the request will be sent when the connection is back.' : 'Request sent: it appears below when the server confirms it.');
    setReason('');
  };

  return (
    <div className="view handoffs">
      <h2>Driver handoffs</h2>
      <p className="muted small">pending → accepted or rejected (by the target driver or an engineer) → completed (driver change done).</p>
      {canRequest && (
        <form className="compose" onSubmit={submit} aria-label="Request a handoff">
          <label>
            Hand the car to
            <select value={target} onChange={(e) => setTarget(e.target.value)} required>
              <option value="">choose a driver</option>
              {driverIds
                .filter((id) => id !== me?.id)
                .map((id) => (
                  <option key={id} value={id}>
                    {driverName(svc.store.getState(), id)}
                  </option>
                ))}
            </select>
          </label>
          <label className="grow">
            Reason
            <input value={reason} onChange={(e) => setReason(e.target.value)} maxLength={500} placeholder="End of stint" />
          </label>
          <label>
            Urgency
            <select value={urgency} onChange={(e) => setUrgency(e.target.value as 'normal' | 'urgent')}>
              <option value="normal">normal</option>
              <option value="urgent">urgent</option>
            </select>
          </label>
          <button type="submit" disabled={driverIds.length === 0}>
            Request handoff
          </button>
          {note && (
            <p role="status" className="notice">
              {note}
            </p>
          )}
        </form>
      )}
      {sorted.length === 0 ? (
        <p className="empty" role="status">
          No handoffs yet.
        </p>
      ) : (
        <ul className="handoff-list">
          {sorted.map((h) => (
            <HandoffCard key={h.req.id} h={h} meId={me?.id ?? null} meRole={me?.role ?? null} meName={me?.username ?? null} />
          ))}
        </ul>
      )}
    </div>
  );
}
