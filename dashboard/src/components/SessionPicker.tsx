import { useServices, useApp } from '../app/context';
import { sessionKey } from '../store/app';
import { shallowEqual } from '../store/store';

/** Which session the competitors and the track map show, when the team's drivers are in more
 * than one (practice on one server, the race on another): each session's standings stay its own. */
export function SessionPicker() {
  const { store } = useServices();
  const keys = useApp((s) => Object.keys(s.standingsBySession).sort(), shallowEqual);
  const viewed = useApp((s) => s.viewedSession);
  const labels = useApp(
    (s) =>
      Object.fromEntries(
        keys.map((k) => {
          const infos = Object.values(s.sessionByDriver).filter((i) => sessionKey(i) === k);
          const who = infos.map((i) => s.drivers[i.driverId]?.name ?? i.driverId).join(', ');
          const i = infos[0];
          return [k, i ? `${i.track.displayName} · ${i.simSessionType ?? i.sessionType}${who ? ` (${who})` : ''}` : k];
        }),
      ),
    shallowEqual,
  );
  if (keys.length < 2) return null;
  return (
    <label className="inline">
      Session
      <select value={viewed ?? ''} onChange={(e) => store.setState((s) => ({ ...s, viewedSession: e.target.value || null }))}>
        <option value="">newest standings</option>
        {keys.map((k) => (
          <option key={k} value={k}>
            {labels[k]}
          </option>
        ))}
      </select>
    </label>
  );
}
