// STAND-IN for `pitbox cloud`, used by the e2e suite and the bench only while the real cloud
// (crates/cloud, issue 5) is not built. It serves the built dashboard (SPA fallback), the REST
// routes the dashboard calls (login/refresh/logout with refresh-token rotation, drivers,
// sessions, laps, lap telemetry) and a WebSocket hub at /ws speaking docs/protocol.md: greeting,
// authenticate, subscribe/subscribed, role checks, coalesced telemetry fan-out at each
// subscriber's maxRateHz, team messages, read receipts, the handoff state machine, ping/pong and
// error codes. It is not the product: nothing here ships; delete it once `pitbox cloud` serves
// the same routes (e2e/run.mjs already prefers a working `pitbox cloud`).
import { createHmac, randomBytes } from 'node:crypto';
import { createServer } from 'node:http';
import { readFile, stat } from 'node:fs/promises';
import { extname, join, normalize } from 'node:path';
import { WebSocketServer } from 'ws';

const TYPES = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
};

const b64u = (b) => Buffer.from(b).toString('base64url');

export async function startStandin({ port = 0, dist, accessTtlS = 24 * 3600, teamId = 'team-apex', users, relay = false } = {}) {
  const secret = randomBytes(32);
  const userList = users ?? [
    { id: 'eng-1', username: 'sam', password: 'pitbox-e2e', role: 'engineer', name: 'Sam (engineer)' },
    { id: 'drv-1', username: 'alex', password: 'pitbox-e2e', role: 'driver', name: 'Alex Driver', number: 23, driverRole: 'primary' },
    { id: 'drv-2', username: 'jo', password: 'pitbox-e2e', role: 'driver', name: 'Jo Relief', number: 23, driverRole: 'secondary' },
    { id: 'drv-3', username: 'kim', password: 'pitbox-e2e', role: 'driver', name: 'Kim Reserve', number: 23, driverRole: 'reserve' },
    { id: 'view-1', username: 'val', password: 'pitbox-e2e', role: 'viewer', name: 'Val Viewer' },
  ];
  const byName = new Map(userList.map((u) => [u.username, u]));
  const byId = new Map(userList.map((u) => [u.id, u]));
  const refresh = new Map(); // token -> {userId, family, used}
  const revokedFamilies = new Set();
  const messages = [];
  const readers = new Map(); // messageId -> Set(readerId)
  const handoffs = new Map();
  const statuses = new Map(); // driverId -> driver_status data
  const sessions = new Map(); // driverId -> session_info
  const laps = []; // {id, sessionId, driverId, lap, timeS, valid, samples}
  const stats = { framesIn: 0, framesOut: 0, logins: 0, refreshes: 0 };
  const current = new Map(); // driverId -> {lap, samples}
  let lapSeq = 0;
  // Lap storage as the cloud does it: samples grouped by the lap number they carry.
  function record(t) {
    let cur = current.get(t.driverId);
    if (!cur || cur.lap !== t.lap) {
      if (cur && cur.samples.length > 10 && t.lap === cur.lap + 1) {
        const last = cur.samples[cur.samples.length - 1];
        const sessionId = sessions.get(t.driverId)?.sessionId ?? 'session-1';
        laps.push({ id: `lap-${++lapSeq}`, sessionId, driverId: t.driverId, lap: cur.lap, timeS: last.lapTime ?? null, valid: cur.samples[0].trackPosition < 0.02, samples: cur.samples, startedAt: cur.samples[0].timestamp });
        if (laps.length > 50) laps.shift();
      }
      cur = { lap: t.lap, samples: [] };
      current.set(t.driverId, cur);
    }
    cur.samples.push(t);
  }

  function sign(user) {
    const now = Math.floor(Date.now() / 1000);
    const h = b64u(JSON.stringify({ alg: 'HS256', typ: 'JWT' }));
    const p = b64u(JSON.stringify({ sub: user.id, username: user.username, role: user.role, team: teamId, iat: now, exp: now + accessTtlS }));
    const sig = createHmac('sha256', secret).update(`${h}.${p}`).digest('base64url');
    return `${h}.${p}.${sig}`;
  }
  function verify(token) {
    const [h, p, sig] = String(token).split('.');
    if (!h || !p || !sig) return null;
    const want = createHmac('sha256', secret).update(`${h}.${p}`).digest('base64url');
    if (want !== sig) return null;
    const claims = JSON.parse(Buffer.from(p, 'base64url').toString());
    if (claims.exp * 1000 <= Date.now()) return null;
    return byId.get(claims.sub) ?? null;
  }
  function issue(user, family = randomBytes(8).toString('hex')) {
    const rt = randomBytes(24).toString('base64url');
    refresh.set(rt, { userId: user.id, family, used: false });
    return { token: sign(user), refreshToken: rt, expiresIn: accessTtlS, user: { id: user.id, username: user.username, role: user.role } };
  }

  const json = (res, status, body) => {
    res.writeHead(status, { 'content-type': 'application/json', 'cache-control': 'no-store' });
    res.end(JSON.stringify(body));
  };
  const body = (req) =>
    new Promise((resolve) => {
      let s = '';
      req.on('data', (c) => (s += c));
      req.on('end', () => {
        try {
          resolve(JSON.parse(s || '{}'));
        } catch {
          resolve(null);
        }
      });
    });
  const authed = (req) => verify((req.headers.authorization ?? '').replace(/^Bearer /, ''));

  async function api(req, res, url) {
    const path = url.pathname;
    if (req.method === 'POST' && path === '/api/auth/login') {
      const b = await body(req);
      const u = b && byName.get(b.username);
      if (!u || u.password !== b.password) return json(res, 401, { error: { code: 'authentication_failed', message: 'wrong username or password' } });
      stats.logins++;
      return json(res, 200, issue(u));
    }
    if (req.method === 'POST' && path === '/api/auth/refresh') {
      const b = await body(req);
      const r = b && refresh.get(b.refreshToken);
      if (!r || revokedFamilies.has(r.family)) return json(res, 401, { error: { code: 'authentication_failed', message: 'refresh token invalid' } });
      if (r.used) {
        revokedFamilies.add(r.family);
        return json(res, 401, { error: { code: 'authentication_failed', message: 'refresh token reused: session revoked' } });
      }
      r.used = true;
      stats.refreshes++;
      return json(res, 200, issue(byId.get(r.userId), r.family));
    }
    if (req.method === 'POST' && path === '/api/auth/logout') {
      const b = await body(req);
      const r = b && refresh.get(b.refreshToken);
      if (r) revokedFamilies.add(r.family);
      res.writeHead(204);
      return res.end();
    }
    const user = authed(req);
    if (!user) return json(res, 401, { error: { code: 'authentication_failed', message: 'missing or expired token' } });
    if (req.method === 'GET' && path === '/api/drivers') {
      return json(
        res,
        200,
        userList
          .filter((u) => u.role === 'driver')
          .map((u) => {
            const st = statuses.get(u.id);
            return {
              id: u.id,
              name: u.name,
              team: 'Apex Endurance',
              number: u.number ?? 0,
              status: st?.status ?? 'inactive',
              role: u.driverRole ?? 'reserve',
              avatarUrl: '',
              telemetryConnected: st?.telemetryConnected ?? false,
              lastActive: st?.lastActive ?? new Date(0).toISOString(),
            };
          }),
      );
    }
    if (req.method === 'GET' && path === '/api/messages') {
      return json(res, 200, messages.slice(-200).reverse().map((msg) => ({ ...msg, read: !!readers.get(msg.id)?.has(user.id) })));
    }
    if (req.method === 'GET' && path === '/api/handoffs') return json(res, 200, [...handoffs.values()].reverse());
    // Shapes as crates/cloud answers them (SessionSummary, LapSummary, LapTelemetry columns).
    if (req.method === 'GET' && path === '/api/sessions') {
      const ids = [...new Set(laps.map((l) => l.sessionId))];
      return json(
        res,
        200,
        ids.map((id) => {
          const ls = laps.filter((l) => l.sessionId === id);
          const s = [...sessions.values()].find((x) => x.sessionId === id);
          return {
            id,
            teamId,
            driverId: ls[0].driverId,
            track: s?.track?.displayName ?? null,
            car: s?.carName ?? null,
            source: 'live',
            startedAt: ls[0].startedAt,
            lastSampleAt: ls[ls.length - 1].samples[ls[ls.length - 1].samples.length - 1].timestamp,
            lapCount: ls.length,
            sampleCount: ls.reduce((n, l) => n + l.samples.length, 0),
          };
        }),
      );
    }
    let m = path.match(/^\/api\/sessions\/([^/]+)\/laps$/);
    if (req.method === 'GET' && m) {
      const id = decodeURIComponent(m[1]);
      return json(
        res,
        200,
        laps
          .filter((l) => l.sessionId === id)
          .map((l) => ({
            id: l.id,
            sessionId: l.sessionId,
            driverId: l.driverId,
            lap: l.lap,
            startedAt: l.samples[0].timestamp,
            endedAt: l.samples[l.samples.length - 1].timestamp,
            duration: (Date.parse(l.samples[l.samples.length - 1].timestamp) - Date.parse(l.samples[0].timestamp)) / 1000,
            sampleCount: l.samples.length,
          })),
      );
    }
    m = path.match(/^\/api\/laps\/([^/]+)\/telemetry$/);
    if (req.method === 'GET' && m) {
      const l = laps.find((x) => x.id === decodeURIComponent(m[1]));
      if (!l) return json(res, 404, { error: { code: 'not_found', message: 'no such lap' } });
      const names = ['speed', 'rpm', 'gear', 'throttle', 'brake', 'steeringAngle', 'latitude', 'longitude', 'trackPosition', 'lap', 'sector', 'fuelLevel', 'lapDistance', 'lapTime', 'sessionTime', 'yawRate'];
      const channels = Object.fromEntries(names.map((n) => [n, l.samples.map((x) => x[n] ?? null)]));
      for (const w of ['frontLeft', 'frontRight', 'rearLeft', 'rearRight']) channels[`tireWear.${w}`] = l.samples.map((x) => x.tireWear?.[w] ?? null);
      return json(res, 200, { lapId: l.id, sessionId: l.sessionId, driverId: l.driverId, lap: l.lap, sampleCount: l.samples.length, timestamps: l.samples.map((x) => Date.parse(x.timestamp)), channels });
    }
    return json(res, 404, { error: { code: 'not_found', message: `no route ${req.method} ${path} in the stand-in` } });
  }

  async function file(req, res, url) {
    if (url.pathname === '/dashboard-config.json')
      return json(res, 200, relay ? { wsPath: '/ws', restApi: false, serverName: 'relay stand-in' } : { wsPath: '/ws', restApi: true, serverName: 'cloud stand-in' });
    let rel = normalize(decodeURIComponent(url.pathname)).replace(/^\/+/, '');
    if (rel.includes('..')) return json(res, 404, {});
    if (!rel) rel = 'index.html';
    let p = join(dist, rel);
    let ok = await stat(p).then((s) => s.isFile()).catch(() => false);
    if (!ok) {
      if (extname(rel)) {
        res.writeHead(404);
        return res.end('not found');
      }
      p = join(dist, 'index.html');
      rel = 'index.html';
      ok = true;
    }
    const data = await readFile(p);
    res.writeHead(200, {
      'content-type': TYPES[extname(p)] ?? 'application/octet-stream',
      'cache-control': rel.startsWith('assets/') ? 'public, max-age=31536000, immutable' : 'no-cache',
    });
    res.end(data);
  }

  const server = createServer((req, res) => {
    const url = new URL(req.url, 'http://x');
    const h = url.pathname.startsWith('/api/') ? api(req, res, url) : file(req, res, url);
    h.catch((e) => {
      res.writeHead(500);
      res.end(String(e));
    });
  });

  // --- WebSocket hub -------------------------------------------------------------------------
  const wss = new WebSocketServer({ noServer: true, maxPayload: 256 * 1024 });
  server.on('upgrade', (req, socket, head) => {
    if (new URL(req.url, 'http://x').pathname !== '/ws') return socket.destroy();
    wss.handleUpgrade(req, socket, head, (ws) => wss.emit('connection', ws));
  });
  const clients = new Set();
  const send = (c, type, data) => {
    if (c.ws.readyState !== 1) return;
    stats.framesOut++;
    c.ws.send(JSON.stringify({ type, data }));
  };
  const err = (c, code, message, messageType = null, field = null) => send(c, 'error', { code, message, field, messageType });
  const wants = (c, channel, driverId) =>
    c.sub && (c.sub.channels.length === 0 || c.sub.channels.includes(channel)) && (!driverId || c.sub.driverIds.length === 0 || c.sub.driverIds.includes(driverId));
  const fanout = (channel, type, data, driverId = null) => {
    for (const c of clients) if (c.user && wants(c, channel, driverId)) send(c, type, data);
  };
  const isoNow = () => new Date().toISOString();

  wss.on('connection', (ws) => {
    const c = { ws, user: null, sub: null, pending: new Map(), timer: null, clientType: null };
    clients.add(c);
    send(c, 'connection_established', { serverId: 'standin-1', timestamp: isoNow(), version: '1.0', authTimeoutSecs: 10 });
    const authTimer = setTimeout(() => {
      if (!c.user) {
        err(c, 'auth_timeout', 'no authenticate within 10 s');
        ws.close(4002, 'auth timeout');
      }
    }, 10_000);
    ws.on('error', () => ws.terminate());
    ws.on('close', () => {
      clearTimeout(authTimer);
      clearInterval(c.timer);
      clients.delete(c);
      if (c.user && c.clientType === 'driver') {
        const st = { ...(statuses.get(c.user.id) ?? { status: 'inactive', inCar: false }), driverId: c.user.id, telemetryConnected: false, lastActive: isoNow() };
        statuses.set(c.user.id, st);
        fanout('status', 'driver_status', st, c.user.id);
      }
    });
    ws.on('message', (raw) => {
      stats.framesIn++;
      let m;
      try {
        m = JSON.parse(String(raw));
      } catch {
        return err(c, 'invalid_json', 'not JSON');
      }
      if (!m || typeof m.type !== 'string' || typeof m.data !== 'object' || m.data === null) return err(c, 'invalid_message', 'expected {type, data}');
      const d = m.data;
      if (m.type === 'ping') return send(c, 'pong', { id: d.id, timestamp: isoNow() });
      if (m.type === 'pong') return;
      if (m.type === 'authenticate') {
        const u = verify(d.token);
        if (!u) {
          send(c, 'authentication_result', { success: false, reason: 'token invalid or expired' });
          return ws.close(4001, 'authentication failed');
        }
        if (String(d.version ?? '1.0').split('.')[0] !== '1') {
          err(c, 'unsupported_version', `protocol ${d.version} not supported`);
          return ws.close(4003, 'unsupported version');
        }
        c.user = u;
        c.clientType = d.clientType;
        clearTimeout(authTimer);
        send(c, 'authentication_result', { success: true, userId: u.id, role: u.role, teamId });
        return;
      }
      if (!c.user) return err(c, 'not_authenticated', 'authenticate first', m.type);
      const u = c.user;
      const writer = u.role !== 'viewer';
      switch (m.type) {
        case 'subscribe': {
          if (d.teamId && d.teamId !== teamId) return err(c, 'forbidden', 'another team', 'subscribe', 'data.teamId');
          const rate = Math.min(60, Math.max(0.1, d.maxRateHz ?? 20));
          c.sub = { teamId, driverIds: d.driverIds ?? [], channels: d.channels ?? [], maxRateHz: rate };
          send(c, 'subscribed', c.sub);
          clearInterval(c.timer);
          c.timer = setInterval(() => {
            for (const [, t] of c.pending) send(c, 'telemetry_update', t);
            c.pending.clear();
          }, 1000 / rate);
          // Catch-up: what a new dashboard needs to draw the race at once.
          for (const s of sessions.values()) if (wants(c, 'session')) send(c, 'session_info', s);
          for (const s of statuses.values()) if (wants(c, 'status', s.driverId)) send(c, 'driver_status', s);
          return;
        }
        case 'unsubscribe':
          c.sub = null;
          return;
        case 'telemetry_update':
          if (u.role !== 'driver' && u.role !== 'admin') return err(c, 'forbidden', 'only drivers publish telemetry', m.type);
          if (d.driverId !== u.id) return err(c, 'forbidden', 'a driver publishes only its own driverId', m.type, 'data.driverId');
          record(d);
          for (const o of clients) if (o.user && wants(o, 'telemetry', d.driverId)) o.pending.set(d.driverId, d);
          return;
        case 'telemetry_batch':
          if (d.driverId !== u.id) return err(c, 'forbidden', 'own driverId only', m.type, 'data.driverId');
          for (const t of d.samples ?? []) record(t);
          return send(c, 'ack', { driverId: d.driverId, sequence: d.sequence });
        case 'session_info':
          if (d.driverId !== u.id) return err(c, 'forbidden', 'own driverId only', m.type, 'data.driverId');
          sessions.set(d.driverId, d);
          return fanout('session', 'session_info', d, d.driverId);
        case 'standings_update':
          if (d.driverId !== u.id) return err(c, 'forbidden', 'own driverId only', m.type, 'data.driverId');
          return fanout('standings', 'standings_update', d, d.driverId);
        case 'driver_status':
          if (d.driverId !== u.id && u.role !== 'admin') return err(c, 'forbidden', 'own driverId only', m.type, 'data.driverId');
          statuses.set(d.driverId, d);
          return fanout('status', 'driver_status', d, d.driverId);
        case 'team_message':
          if (!writer) return err(c, 'forbidden', 'viewers only read', m.type);
          if (d.senderId !== u.id) return err(c, 'forbidden', 'senderId must be your own id', m.type, 'data.senderId');
          if (typeof d.content !== 'string' || d.content.length < 1 || d.content.length > 4000)
            return err(c, 'validation_failed', 'data.content: 1–4000 characters', m.type, 'data.content');
          messages.push(d);
          return fanout('messages', 'team_message', d);
        case 'message_read':
          if (d.readerId !== u.id) return err(c, 'forbidden', 'readerId must be your own id', m.type, 'data.readerId');
          if (!messages.some((x) => x.id === d.messageId)) return err(c, 'not_found', 'no such message', m.type, 'data.messageId');
          if (!readers.has(d.messageId)) readers.set(d.messageId, new Set());
          readers.get(d.messageId).add(d.readerId);
          return fanout('messages', 'message_read', d);
        case 'handoff_request':
          if (!writer) return err(c, 'forbidden', 'viewers only read', m.type);
          if (d.requesterId !== u.id) return err(c, 'forbidden', 'requesterId must be your own id', m.type, 'data.requesterId');
          handoffs.set(d.id, { ...d, status: 'pending' });
          return fanout('handoffs', 'handoff_request', handoffs.get(d.id));
        case 'handoff_response': {
          const h = handoffs.get(d.handoffId);
          if (!h) return err(c, 'not_found', 'no such handoff', m.type, 'data.handoffId');
          const eng = u.role === 'engineer' || u.role === 'admin';
          const ok =
            (h.status === 'pending' && (d.status === 'accepted' || d.status === 'rejected') && (eng || u.id === h.targetDriverId)) ||
            (h.status === 'accepted' && d.status === 'completed' && (eng || u.id === h.targetDriverId || u.id === h.requesterId));
          if (!ok) return err(c, 'conflict', `cannot go from ${h.status} to ${d.status}`, m.type, 'data.status');
          h.status = d.status;
          fanout('handoffs', 'handoff_response', d);
          return fanout('handoffs', 'handoff_request', h);
        }
        default:
          return err(c, 'unknown_type', `unknown type ${m.type}`, m.type);
      }
    });
  });

  await new Promise((r) => server.listen(port, '127.0.0.1', r));
  const addr = server.address();
  return {
    url: `http://127.0.0.1:${addr.port}`,
    port: addr.port,
    stats,
    laps,
    clientCount: () => clients.size,
    /** Sends a server message to every subscriber of `channel` (tests: what the coaching engine would send). */
    publish(channel, type, data) {
      fanout(channel, type, data, data.driverId ?? null);
    },
    /** Drops every WebSocket (a network blip), without stopping the server. */
    dropAll() {
      for (const c of clients) c.ws.terminate();
    },
    tokenFor(username) {
      return issue(byName.get(username));
    },
    async close() {
      for (const c of clients) c.ws.terminate();
      wss.close();
      await new Promise((r) => server.close(r));
      server.closeAllConnections?.();
    },
  };
}

// `node e2e/standin-server.mjs [port]`: run it by hand with simulated drivers.
if (import.meta.url === `file://${process.argv[1]}`) {
  const { fileURLToPath } = await import('node:url');
  const { startDrivers } = await import('./sim-drivers.mjs');
  const dist = fileURLToPath(new URL('../dist', import.meta.url));
  const s = await startStandin({ port: Number(process.argv[2] ?? 8080), dist });
  const drivers = await startDrivers({ url: s.url, hz: 20, fieldSize: 40, historyLaps: 2 });
  console.log(`stand-in cloud on ${s.url} (users sam/alex/jo/kim/val, password pitbox-e2e)`);
  process.on('SIGINT', async () => {
    await drivers.stop();
    await s.close();
    process.exit(0);
  });
}
