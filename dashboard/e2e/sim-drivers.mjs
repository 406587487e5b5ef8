// Simulated drivers: real protocol clients (docs/protocol.md) that sign in over REST, connect to
// the server's WebSocket as `clientType: driver` and publish driver_status, session_info,
// standings_update and telemetry_update at a set rate — what `pitbox driver` does with a sim.
// They sign in over REST on the cloud, or with a given token on a relay (`pitbox token`), and
// reconnect after a dropped link like a driver agent does, so the car keeps streaming.
import WebSocket from 'ws';
import { Field, TeamCar, makeTrack } from './sim.mjs';

async function login(base, username, password) {
  const r = await fetch(`${base}/api/auth/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ username, password }) });
  if (!r.ok) throw new Error(`login ${username}: HTTP ${r.status}`);
  return r.json();
}

function connect(base, wsPath, token) {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(base.replace(/^http/, 'ws') + wsPath);
    const timer = setTimeout(() => reject(new Error('driver connect timeout')), 10_000);
    ws.on('message', (raw) => {
      const m = JSON.parse(String(raw));
      if (m.type === 'connection_established') ws.send(JSON.stringify({ type: 'authenticate', data: { token, clientType: 'driver', version: '1.0' } }));
      if (m.type === 'authentication_result') {
        clearTimeout(timer);
        if (m.data.success) resolve(ws);
        else reject(new Error(`driver auth failed: ${m.data.reason}`));
      }
      if (m.type === 'ping') ws.send(JSON.stringify({ type: 'pong', data: { id: m.data.id, timestamp: new Date().toISOString() } }));
    });
    ws.on('error', reject);
    ws.on('close', () => reject(new Error('driver link closed before authentication')));
  });
}

/**
 * drivers: [{username, password, id, name, inCar, token?}] — the ones with inCar stream
 * telemetry; with `token` (a relay's `pitbox token`) there is no REST sign-in and `id` is the
 * token's user id.
 * historyLaps: laps simulated instantly at start and uploaded as telemetry_batch (stored laps),
 * ending just before the live stream starts so the stored laps and the live ones form one run.
 */
export async function startDrivers({
  url,
  wsPath = '/ws',
  hz = 20,
  fieldSize = 40,
  historyLaps = 0,
  trackLengthM = 2400,
  drivers = [
    { username: 'alex', password: 'pitbox-e2e', id: 'drv-1', name: 'Alex Driver', inCar: true },
    { username: 'jo', password: 'pitbox-e2e', id: 'drv-2', name: 'Jo Relief', inCar: false },
    { username: 'kim', password: 'pitbox-e2e', id: 'drv-3', name: 'Kim Reserve', inCar: false },
  ],
}) {
  const track = makeTrack(trackLengthM);
  const field = new Field(fieldSize, track);
  const conns = [];
  let teamIdx = 3;
  let stopped = false;
  for (const d of drivers) {
    const auth = d.token ? { token: d.token, user: { id: d.id } } : await login(url, d.username, d.password);
    const ws = await connect(url, wsPath, auth.token);
    const carIdx = d.inCar ? teamIdx++ : null;
    conns.push({ d, ws, token: auth.token, car: d.inCar ? new TeamCar(track, auth.user.id, carIdx + 1) : null, carIdx, id: auth.user.id, pitCommands: [] });
  }
  const send = (ws, type, data) => ws.readyState === 1 && ws.send(JSON.stringify({ type, data }));
  const iso = () => new Date().toISOString();
  // A dropped link is retried every 500 ms until it is back (samples meanwhile are lost, as with
  // a real agent's live stream); the status and session are announced again at once.
  // A driver agent receives its car's pit_command and applies it in the sim: each one is kept
  // (c.pitCommands) and, for a car, set in its pit service, which the samples then report.
  const listen = (c) => {
    c.ws.on('message', (raw) => {
      const m = JSON.parse(String(raw));
      if (m.type !== 'pit_command') return;
      c.pitCommands.push(m.data);
      c.car?.applyPit(m.data);
    });
  };
  const keepConnected = (c) => {
    listen(c);
    c.ws.on('close', () => {
      if (stopped) return;
      const retry = () => {
        if (stopped) return;
        connect(url, wsPath, c.token).then(
          (ws) => {
            if (stopped) return ws.close();
            c.ws = ws;
            keepConnected(c);
            announce(c);
          },
          () => setTimeout(retry, 500),
        );
      };
      setTimeout(retry, 500);
    });
  };

  // Status and session are re-sent every few seconds, like a driver agent's heartbeat: a
  // dashboard that subscribes later gets them even from a hub that replays nothing.
  const announce = (c) => {
    send(c.ws, 'driver_status', { driverId: c.id, status: c.d.inCar ? 'active' : 'standby', telemetryConnected: !!c.d.inCar, inCar: !!c.d.inCar, lastActive: iso() });
    if (!c.car) return;
    send(c.ws, 'session_info', {
      driverId: c.id,
      sessionId: 'sim-session-1',
      timestamp: iso(),
      track: { id: 1, name: 'sim oval', displayName: 'Simulated Circuit', configName: 'Full', lengthKm: trackLengthM / 1000 },
      carName: 'Sim GT4',
      sessionType: 'race',
      sessionDuration: 21600,
      sectors: [0, 0.334, 0.667],
      playerCarIdx: c.carIdx,
      drivers: [{ carIdx: c.carIdx, name: c.d.name, carNumber: '23', teamName: 'Apex Endurance', carName: 'Sim GT4', carClass: 'GT4', iRating: 2450 }],
    });
  };
  for (const c of conns) {
    keepConnected(c);
    announce(c);
    if (!c.car) continue;
    if (historyLaps > 0) {
      // Fast-forward: laps driven "earlier", uploaded like a relay flushing its spool. Timed so
      // the last one ends one sample before now: no gap between stored and live samples.
      const samples = [];
      while (c.car.lap <= historyLaps) samples.push(c.car.step(1 / hz, '').data);
      const end = Date.now();
      samples.forEach((s, i) => (s.timestamp = new Date(end - ((samples.length - i) * 1000) / hz).toISOString()));
      let seq = 0;
      for (let i = 0; i < samples.length; i += 300) send(c.ws, 'telemetry_batch', { driverId: c.id, sequence: ++seq, samples: samples.slice(i, i + 300) });
      // Stored (acknowledged) before anyone watches: what the server makes of these laps, such
      // as their coaching, is history by the time a dashboard signs in.
      await new Promise((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`history batches of ${c.d.name} not acknowledged`)), 30_000);
        const onAck = (raw) => {
          const m = JSON.parse(String(raw));
          if (m.type === 'error') console.log(`# history upload of ${c.d.name}: ${m.data.message}`);
          if (m.type === 'ack' && m.data.sequence >= seq) {
            clearTimeout(timer);
            c.ws.off('message', onAck);
            resolve();
          }
        };
        c.ws.on('message', onAck);
      });
    }
  }

  let last = performance.now();
  let t = 0;
  let standingsAcc = 0;
  const timer = setInterval(() => {
    const now = performance.now();
    const dt = Math.min(0.5, (now - last) / 1000);
    last = now;
    t += dt;
    standingsAcc += dt;
    field.step(dt, t);
    const stamp = iso();
    for (const c of conns) {
      if (!c.car) continue;
      const { data } = c.car.step(dt, stamp);
      send(c.ws, 'telemetry_update', data);
      field.setTeam(c.carIdx, { driverName: c.d.name, teamName: 'Apex Endurance', carNumber: String(20 + c.carIdx), lap: data.lap, pos: data.trackPosition, last: c.car.lastLapTime, onPitRoad: false });
    }
    if (standingsAcc >= 0.5) {
      standingsAcc = 0;
      const lead = conns.find((c) => c.car);
      if (lead) send(lead.ws, 'standings_update', { driverId: lead.id, timestamp: stamp, sessionTime: t, entries: field.entries(t) });
    }
  }, 1000 / hz);

  const heartbeat = setInterval(() => conns.forEach(announce), 3000);

  return {
    conns,
    track,
    async stop() {
      stopped = true;
      clearInterval(timer);
      clearInterval(heartbeat);
      for (const c of conns) c.ws.close();
    },
  };
}
