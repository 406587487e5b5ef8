import { lazy, memo, Suspense, useEffect, useState, type MouseEvent } from 'react';
import type { AuthManager, AuthSession } from './api/auth';
import type { ServerConfig } from './api/endpoints';
import { ServicesContext, useApp, useServices } from './app/context';
import { navigate, usePath } from './app/hooks';
import { startServices, type Services } from './app/services';
import { pendingHandoffs, unreadMessages } from './store/app';
import { ConnectionBadge } from './views/ConnectionBadge';
import { Login } from './views/Login';
import { markRead } from './views/Messages';
import { Overview } from './views/Overview';
import { Telemetry } from './views/Telemetry';
import { TrackMap } from './views/TrackMap';
import { Standings } from './views/Standings';
import { Messages } from './views/Messages';
import { Handoffs } from './views/Handoffs';
import { Coaching } from './views/Coaching';
import { Strategy } from './views/Strategy';

// The comparison view pulls uPlot charts and the worker: loaded when first opened.
const Compare = lazy(() => import('./views/Compare').then((m) => ({ default: m.Compare })));
const History = lazy(() => import('./views/History').then((m) => ({ default: m.History })));
const Video = lazy(() => import('./views/Video').then((m) => ({ default: m.Video })));

const NAV: Array<{ path: string; label: string }> = [
  { path: '/', label: 'Overview' },
  { path: '/telemetry', label: 'Telemetry' },
  { path: '/map', label: 'Track map' },
  { path: '/standings', label: 'Standings' },
  { path: '/messages', label: 'Messages' },
  { path: '/handoffs', label: 'Handoffs' },
  { path: '/coaching', label: 'Coaching' },
  { path: '/strategy', label: 'Strategy' },
  { path: '/compare', label: 'Lap comparison' },
  { path: '/history', label: 'History' },
  { path: '/video', label: 'Video' },
];

function go(e: MouseEvent<HTMLAnchorElement>, path: string) {
  if (e.metaKey || e.ctrlKey || e.shiftKey || e.button !== 0) return;
  e.preventDefault();
  navigate(path);
}

const Nav = memo(function Nav({ path }: { path: string }) {
  const unread = useApp((s) => unreadMessages(s).length);
  const pending = useApp((s) => pendingHandoffs(s).length);
  return (
    <nav aria-label="Views">
      <ul>
        {NAV.map((n) => {
          const active = n.path === '/' ? path === '/' : path.startsWith(n.path);
          const badge = n.path === '/messages' ? unread : n.path === '/handoffs' ? pending : 0;
          return (
            <li key={n.path}>
              <a href={n.path} aria-current={active ? 'page' : undefined} onClick={(e) => go(e, n.path)}>
                {n.label}
                {badge > 0 && (
                  <span className="badge" aria-label={`${badge} ${n.path === '/messages' ? 'unread' : 'open'}`} data-testid={`badge-${n.path.slice(1)}`}>
                    {badge}
                  </span>
                )}
              </a>
            </li>
          );
        })}
      </ul>
    </nav>
  );
});

/** Unread urgent messages stay on top of every view until acknowledged. */
const UrgentBanner = memo(function UrgentBanner() {
  const svc = useServices();
  const urgent = useApp((s) => unreadMessages(s).filter((m) => m.priority === 'urgent'));
  if (urgent.length === 0) return null;
  const m = urgent[urgent.length - 1]!;
  return (
    <div className="urgent" role="alert" data-testid="urgent-banner">
      <strong>URGENT from {m.senderName}:</strong> <span>{m.content}</span>
      {urgent.length > 1 && <span> (+{urgent.length - 1} more)</span>}
      <button type="button" onClick={() => markRead(svc, urgent.map((x) => x.id))}>
        Acknowledge
      </button>
    </div>
  );
});

const Errors = memo(function Errors() {
  const errors = useApp((s) => s.errors);
  const [hidden, setHidden] = useState(0);
  const shown = errors.filter((e) => e.at > hidden).slice(-3);
  if (shown.length === 0) return null;
  return (
    <div className="errors" role="status">
      {shown.map((e) => (
        <p key={e.at + e.code}>
          Server refused {e.messageType ?? 'a message'}: {e.message} ({e.code})
        </p>
      ))}
      <button type="button" className="small" onClick={() => setHidden(Date.now())}>
        Dismiss
      </button>
    </div>
  );
});

function View({ path }: { path: string }) {
  if (path.startsWith('/telemetry')) {
    const id = path.split('/')[2];
    return <Telemetry driverId={id ? decodeURIComponent(id) : null} />;
  }
  if (path.startsWith('/map')) return <TrackMap />;
  if (path.startsWith('/standings')) return <Standings />;
  if (path.startsWith('/messages')) return <Messages />;
  if (path.startsWith('/handoffs')) return <Handoffs />;
  if (path.startsWith('/coaching')) return <Coaching />;
  if (path.startsWith('/strategy')) return <Strategy />;
  if (path.startsWith('/compare'))
    return (
      <Suspense fallback={<p role="status">Loading…</p>}>
        <Compare />
      </Suspense>
    );
  if (path.startsWith('/video'))
    return (
      <Suspense fallback={<p role="status">Loading…</p>}>
        <Video />
      </Suspense>
    );
  if (path.startsWith('/history'))
    return (
      <Suspense fallback={<p role="status">Loading…</p>}>
        <History />
      </Suspense>
    );
  return <Overview />;
}

function Shell({ session }: { session: AuthSession }) {
  const svc = useServices();
  const path = usePath();
  return (
    <div className="shell">
      <header>
        <span className="brand">PitBox</span>
        <span className="muted small">{svc.config.serverName}</span>
        <ConnectionBadge />
        <span className="user">
          {session.user.username} <span className="muted small">({String(session.user.role)})</span>
        </span>
        <button type="button" className="small" onClick={() => void svc.auth.logout()}>
          Sign out
        </button>
      </header>
      <UrgentBanner />
      <Nav path={path} />
      <main id="main">
        <View path={path} />
      </main>
      <Errors />
    </div>
  );
}

export function App({ auth, config, WebSocketImpl }: { auth: AuthManager; config: ServerConfig; WebSocketImpl?: typeof WebSocket }) {
  const [session, setSession] = useState<AuthSession | null>(auth.session);
  const [reason, setReason] = useState<string | null>(auth.lastReason);
  const [svc, setSvc] = useState<Services | null>(null);
  const userId = session?.user.id ?? null;

  useEffect(
    () =>
      auth.onChange((s, r) => {
        setSession(s);
        if (!s) setReason(r);
      }),
    [auth],
  );

  // One set of services per signed-in user; a token refresh keeps them (the client reads the
  // current token on every reconnect).
  useEffect(() => {
    if (!userId) return;
    const s = startServices(config, auth, WebSocketImpl ? { WebSocketImpl } : {});
    setSvc(s);
    return () => {
      s.dispose();
      setSvc(null);
    };
  }, [auth, config, userId, WebSocketImpl]);

  if (!session) return <Login auth={auth} config={config} reason={reason} />;
  if (!svc) return null;
  return (
    <ServicesContext.Provider value={svc}>
      <Shell session={session} />
    </ServicesContext.Provider>
  );
}
