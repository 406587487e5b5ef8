import { memo } from 'react';
import { useApp, useConn, useServices } from '../app/context';
import { useNow } from '../app/hooks';
import { age } from '../app/format';

const LABEL: Record<string, string> = {
  idle: 'Starting',
  connecting: 'Connecting',
  authenticating: 'Signing in',
  live: 'Live',
  reconnecting: 'Reconnecting',
  offline: 'Offline',
  unauthorized: 'Not authorized',
  stopped: 'Stopped',
};

/** Always visible: link state, data age, round trip; stale data is flagged even when "live". */
function ConnectionBadgeImpl() {
  const { client } = useServices();
  const state = useConn((c) => c.state);
  const attempts = useConn((c) => c.attempts);
  const nextRetryAt = useConn((c) => c.nextRetryAt);
  const rtt = useConn((c) => c.rttMs);
  const reason = useConn((c) => c.reason);
  const queued = useConn((c) => c.queued);
  const lastDataAt = useApp((s) => s.lastDataAt);
  const now = useNow(500);
  const dataAge = lastDataAt === null ? null : Math.max(0, now - lastDataAt);
  const stale = state === 'live' && dataAge !== null && dataAge > 5000;
  const cls = state === 'live' ? (stale ? 'warn' : 'ok') : state === 'reconnecting' || state === 'connecting' || state === 'authenticating' ? 'warn' : 'bad';
  const retryIn = nextRetryAt !== null ? Math.max(0, Math.ceil((nextRetryAt - now) / 1000)) : null;
  return (
    <div className={`conn ${cls}`} role="status" aria-live="polite" data-testid="connection" data-state={state}>
      <span className="dot" aria-hidden="true" />
      <strong>{LABEL[state] ?? state}</strong>
      <span className="conn-detail">
        {state === 'live' ? (stale ? `no data for ${age(dataAge)}`.replace(' old', '') : `data ${age(dataAge)}`) : null}
        {(state === 'reconnecting' || state === 'offline' || state === 'unauthorized') && (
          <>
            {' '}
            attempt {attempts}
            {retryIn !== null ? `, retry in ${retryIn} s` : ''}
            {reason ? ` — ${reason}` : ''}
            {lastDataAt !== null ? ` · last data ${age(dataAge)}` : ''}
          </>
        )}
        {state === 'unauthorized' && reason ? ` ${reason}` : ''}
        {state === 'live' && rtt !== null ? ` · ${rtt} ms` : ''}
        {queued > 0 ? ` · ${queued} waiting to send` : ''}
      </span>
      {(state === 'reconnecting' || state === 'offline' || state === 'unauthorized') && (
        <button type="button" className="small" onClick={() => client.retryNow()}>
          Retry now
        </button>
      )}
    </div>
  );
}

export const ConnectionBadge = memo(ConnectionBadgeImpl);
