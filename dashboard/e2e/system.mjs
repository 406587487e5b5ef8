// The whole system, end to end (issue 10): the real binaries, nothing stood in.
//
//   2× pitbox driver --source sim (4x) ─ tap ─ pitbox relay ─┬─ pitbox cloud node A ─┐ PostgreSQL (a fresh
//                                                              └─ pitbox cloud node B ─┘ database) + Redis
//   headless Chromium (dashboard) ── logged in to node B
//
// Two driver agents stream through the relay, which is given both nodes and uses A. Mid-race A
// first hangs (SIGSTOP for FREEZE_MS, so batches are surely in flight and unacknowledged) and is
// then killed with SIGKILL; later it is started again. The test asserts that the dashboard on B keeps showing the race (live values keep
// changing, the connection stays live) while A is down, that the relay fails over to B, and that
// after recovery every sample the driver sent — and so every sample the relay acknowledged to it —
// is stored exactly once (counted by (driverId, sample sequence) through the REST API of both
// nodes; batch numbering checked in PostgreSQL).
//
// The "tap" is a WebSocket pass-through between the driver agent and the relay: the agent does
// not expose which samples it sent or which acks it got, so the tap records both (every
// telemetry_update frame forwarded, every `ack` returned) without changing a byte.
//
// Needs PITBOX_TEST_DATABASE_URL, PITBOX_TEST_REDIS_URL, psql, /usr/bin/chromium, a built
// dashboard/dist and target/debug/pitbox (scripts/test-system builds them). Skips plainly when a
// service or the browser is missing. Ends with "system: N passed, N failed" or
// "system: skipped — reason". Logs of every process go to dashboard/test-results/system/.
import { spawn, spawnSync } from 'node:child_process';
import { appendFileSync, copyFileSync, existsSync, linkSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { connect as netConnect, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import WebSocket, { WebSocketServer } from 'ws';
import { apiJson as api, CHROMIUM, DIST, freePort, launchBrowser, login, REPO, RESULTS, shot } from './harness.mjs';

const PASSWORD = 'pitbox-system-test';
const TEAM = 'System Test Racing';
const PACE = process.env.PITBOX_SYSTEM_PACE ?? '4x';
// Phases of the race, in seconds of wall time.
const WARM_S = Number(process.env.PITBOX_SYSTEM_WARM_S ?? 12);
const DOWN_S = Number(process.env.PITBOX_SYSTEM_DOWN_S ?? 20);
const AFTER_S = Number(process.env.PITBOX_SYSTEM_AFTER_S ?? 10);
const FREEZE_MS = Number(process.env.PITBOX_SYSTEM_FREEZE_MS ?? 1500);
const DRIVERS = [
  { username: 'alex', name: 'Alex Driver', number: 7, seed: 11 },
  { username: 'jo', name: 'Jo Relief', number: 8, seed: 23 },
];
const LOGS = join(RESULTS, 'system');

const results = [];
const figures = {};
const t0 = Date.now();
const since = () => ((Date.now() - t0) / 1000).toFixed(1);

function finish(code, line) {
  console.log(line);
  process.exit(code);
}

function skip(reason) {
  finish(0, `system: skipped — ${reason}`);
}

function assert(cond, msg) {
  if (!cond) throw new Error(msg);
}

async function check(name, fn) {
  const start = Date.now();
  try {
    await fn();
    results.push({ name, ok: true });
    console.log(`ok   ${name} (${Date.now() - start} ms)`);
    return true;
  } catch (e) {
    results.push({ name, ok: false, error: String(e?.message ?? e) });
    console.log(`FAIL ${name}: ${e instanceof Error ? e.message : e}`);
    return false;
  }
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// ---- preflight: what the test needs, or a plain skip ------------------------------------------

function tcpAnswers(host, port, send, expect, ms = 2000) {
  return new Promise((resolve) => {
    const s = netConnect({ host, port });
    const timer = setTimeout(() => done(`no answer within ${ms} ms`), ms);
    let buf = '';
    function done(err) {
      clearTimeout(timer);
      s.destroy();
      resolve(err);
    }
    s.on('connect', () => (send ? s.write(send) : expect ? null : done(null)));
    s.on('data', (d) => {
      buf += d;
      if (expect && buf.includes(expect)) done(null);
    });
    s.on('error', (e) => done(e.message));
  });
}

function psql(url, sql) {
  const r = spawnSync('psql', [url, '-v', 'ON_ERROR_STOP=1', '-Atqc', sql], { encoding: 'utf8', timeout: 30_000 });
  if (r.error) throw new Error(`psql: ${r.error.message}`);
  if (r.status !== 0) throw new Error(`psql ${sql.slice(0, 60)}: ${(r.stderr || r.stdout).trim()}`);
  return r.stdout.trim();
}

const databaseUrl = process.env.PITBOX_TEST_DATABASE_URL;
const redisUrl = process.env.PITBOX_TEST_REDIS_URL;
if (!databaseUrl) skip('PITBOX_TEST_DATABASE_URL is not set (PostgreSQL, e.g. postgres://postgres@127.0.0.1:5432/test)');
if (!redisUrl) skip('PITBOX_TEST_REDIS_URL is not set (Redis, e.g. redis://127.0.0.1:6379)');
if (spawnSync('psql', ['--version']).error) skip('psql (PostgreSQL client) is not installed');
{
  const u = new URL(redisUrl);
  const err = await tcpAnswers(u.hostname, Number(u.port || 6379), 'PING\r\n', 'PONG');
  if (err) skip(`Redis at ${redisUrl} does not answer PING: ${err}`);
  try {
    psql(databaseUrl, 'SELECT 1');
  } catch (e) {
    skip(`PostgreSQL at ${databaseUrl} does not answer: ${e.message.split('\n')[0]}`);
  }
}
if (!existsSync(CHROMIUM)) skip(`${CHROMIUM} is missing (Debian chromium: apt-get install chromium)`);
const BUILT = process.env.PITBOX_BIN ?? join(REPO, 'target/debug/pitbox');
if (!existsSync(BUILT)) finish(1, `system: 0 passed, 1 failed — ${BUILT} is not built (cargo build -p pitbox)`);
if (!existsSync(join(DIST, 'index.html'))) finish(1, 'system: 0 passed, 1 failed — dashboard/dist is not built (scripts/build-dashboard)');

// ---- the run's private world ------------------------------------------------------------------

rmSync(LOGS, { recursive: true, force: true });
mkdirSync(LOGS, { recursive: true });
const work = mkdtempSync(join(tmpdir(), 'pitbox-system-'));
// The binary is pinned for the run (a hard link, else a copy): a cargo build by someone else
// mid-run must not swap the node that is restarted for another build.
const PITBOX = join(work, 'pitbox');
try {
  linkSync(BUILT, PITBOX);
} catch {
  copyFileSync(BUILT, PITBOX);
}
const dbName = `pitbox_system_${process.pid}_${Date.now().toString(36)}`;
const runDbUrl = (() => {
  const u = new URL(databaseUrl);
  u.pathname = `/${dbName}`;
  return u.toString();
})();

function run(args, { env = {}, input } = {}) {
  const r = spawnSync(PITBOX, args, { env: { ...process.env, ...env }, input, encoding: 'utf8', timeout: 60_000 });
  if (r.status !== 0) throw new Error(`pitbox ${args.slice(0, 2).join(' ')} failed (exit ${r.status}): ${(r.stderr || r.stdout || String(r.error)).trim().split('\n').pop()}`);
  return r.stdout;
}

const ANSI = /\x1b\[[0-9;]*m/g; // eslint-disable-line no-control-regex

/** `pitbox ARGS…` as a child of this test; its stderr goes to LOGS/<name>.log line by line. */
function startProcess(name, args, env = {}) {
  const log = join(LOGS, `${name}.log`);
  appendFileSync(log, `---- ${new Date().toISOString()} pitbox ${args.join(' ')}\n`);
  const child = spawn(PITBOX, args, { env: { ...process.env, NO_COLOR: '1', ...env }, stdio: ['ignore', 'ignore', 'pipe'] });
  const listeners = new Set();
  let partial = '';
  let tail = '';
  child.stderr.on('data', (d) => {
    const s = String(d);
    appendFileSync(log, s);
    tail = (tail + s).slice(-4000);
    partial += s;
    const lines = partial.split('\n');
    partial = lines.pop();
    for (const l of lines) for (const f of listeners) f(l.replace(ANSI, ''), Date.now());
  });
  const exited = new Promise((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
  return {
    name,
    child,
    exited,
    onLine: (f) => listeners.add(f),
    lastLine: () => tail.replace(ANSI, '').trim().split('\n').pop() ?? '',
    running: () => child.exitCode === null && child.signalCode === null,
    kill9() {
      child.kill('SIGKILL');
      return exited;
    },
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return exited;
      child.kill('SIGTERM');
      const t = setTimeout(() => child.kill('SIGKILL'), 15_000);
      const r = await exited;
      clearTimeout(t);
      return r;
    },
  };
}

async function waitFor(what, fn, ms, stepMs = 200) {
  const end = Date.now() + ms;
  let last;
  while (Date.now() < end) {
    try {
      const v = await fn();
      if (v) return v;
    } catch (e) {
      last = e;
    }
    await sleep(stepMs);
  }
  throw new Error(`${what} not within ${ms} ms${last ? `: ${last.message}` : ''}`);
}

const loginApi = (base, username) => api(base, '/api/auth/login', { method: 'POST', body: { username, password: PASSWORD } });

async function metrics(base) {
  const text = await fetch(base + '/metrics').then((r) => r.text());
  const m = {};
  for (const line of text.split('\n')) {
    const hit = /^(pitbox_relay_[a-z_]+)\s+([0-9.eE+-]+)$/.exec(line);
    if (hit) m[hit[1].replace('pitbox_relay_', '')] = Number(hit[2]);
  }
  return m;
}

/**
 * A WebSocket pass-through from the driver agent to the relay that records what crossed it:
 * every telemetry_update an agent sent and the highest `ack` the relay gave each driver.
 * Frames are forwarded unchanged and in order.
 */
async function startTap(targetUrl) {
  const port = await freePort();
  const wss = new WebSocketServer({ host: '127.0.0.1', port });
  await new Promise((r) => wss.once('listening', r));
  const tap = { url: `ws://127.0.0.1:${port}`, sent: [], maxAck: {}, connections: 0, open: 0, duplicateSends: 0 };
  const seen = new Set();
  wss.on('connection', (client) => {
    tap.connections++;
    tap.open++;
    const up = new WebSocket(targetUrl);
    const queue = [];
    const forward = (data, isBinary) => {
      if (!isBinary) {
        const m = JSON.parse(String(data));
        if (m.type === 'telemetry_update') {
          const d = m.data;
          const key = `${d.driverId}:${d.sequence}`;
          if (seen.has(key)) tap.duplicateSends++;
          seen.add(key);
          tap.sent.push({ driverId: d.driverId, sequence: d.sequence, sessionTime: d.sessionTime, lap: d.lap, at: Date.now() });
        }
      }
      up.send(data, { binary: isBinary });
    };
    client.on('message', (data, isBinary) => {
      if (up.readyState === WebSocket.OPEN) forward(data, isBinary);
      else queue.push([data, isBinary]);
    });
    up.on('open', () => {
      for (const [d, b] of queue.splice(0)) forward(d, b);
    });
    up.on('message', (data, isBinary) => {
      if (!isBinary) {
        const m = JSON.parse(String(data));
        if (m.type === 'ack') tap.maxAck[m.data.driverId] = Math.max(tap.maxAck[m.data.driverId] ?? 0, m.data.sequence);
      }
      if (client.readyState === WebSocket.OPEN) client.send(data, { binary: isBinary });
    });
    const closeBoth = () => {
      if (client.readyState <= WebSocket.OPEN) client.close();
      if (up.readyState <= WebSocket.OPEN) up.close();
    };
    client.on('close', () => {
      tap.open--;
      closeBoth();
    });
    up.on('close', closeBoth);
    client.on('error', closeBoth);
    up.on('error', closeBoth);
  });
  tap.close = () => new Promise((r) => wss.close(() => r()));
  return tap;
}

/**
 * A TCP pass-through from the relay to node A whose return direction can be held: while held, A
 * keeps reading the relay's batches and committing them, but its answers (acks) stay unread in
 * the socket — the relay never learns those batches were stored. `dropAll` ends every connection
 * the way a dead node's do.
 */
async function startUplinkLink(targetPort) {
  const open = new Set();
  const server = createServer((relaySide) => {
    const nodeSide = netConnect(targetPort, '127.0.0.1');
    const pair = { relaySide, nodeSide };
    open.add(pair);
    const close = () => {
      open.delete(pair);
      relaySide.destroy();
      nodeSide.destroy();
    };
    for (const sock of [relaySide, nodeSide]) {
      sock.on('error', close);
      sock.on('close', close);
    }
    relaySide.pipe(nodeSide);
    nodeSide.pipe(relaySide);
  });
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  return {
    port: server.address().port,
    holdAnswers() {
      for (const { relaySide, nodeSide } of open) {
        nodeSide.unpipe(relaySide);
        nodeSide.pause();
      }
      return open.size;
    },
    dropAll() {
      for (const { relaySide, nodeSide } of [...open]) {
        relaySide.destroy();
        nodeSide.destroy();
      }
    },
    close: () => new Promise((r) => server.close(() => r())),
  };
}

// ---- the stack --------------------------------------------------------------------------------

const procs = [];
let browser;
let tap;
let linkA;
let dbCreated = false;

let cleaning = null;
function cleanup() {
  cleaning ??= cleanupOnce();
  return cleaning;
}

async function cleanupOnce() {
  await browser?.close().catch(() => {});
  for (const p of procs.slice().reverse()) await p.stop().catch(() => {});
  await tap?.close().catch(() => {});
  linkA?.dropAll();
  await linkA?.close().catch(() => {});
  if (dbCreated) {
    try {
      psql(databaseUrl, `DROP DATABASE IF EXISTS ${dbName} WITH (FORCE)`);
    } catch (e) {
      console.log(`# could not drop database ${dbName}: ${e.message}`);
    }
  }
  rmSync(work, { recursive: true, force: true });
}

// Interrupted or stuck: stop what was started and drop the database all the same.
for (const sig of ['SIGINT', 'SIGTERM']) {
  process.once(sig, () => cleanup().finally(() => finish(1, `system: 0 passed, 1 failed — interrupted by ${sig}`)));
}
const WATCHDOG_MS = 10 * 60_000;
setTimeout(() => {
  console.log(`FAIL the run took longer than ${WATCHDOG_MS / 60_000} minutes`);
  cleanup().finally(() => finish(1, 'system: 0 passed, 1 failed — timed out'));
}, WATCHDOG_MS).unref();

try {
  psql(databaseUrl, `CREATE DATABASE ${dbName}`);
  dbCreated = true;
  console.log(`# ${since()} s: database ${dbName} created; logs in ${LOGS}`);
  const cloudEnv = { PITBOX_CLOUD_DATABASE_URL: runDbUrl, PITBOX_CLOUD_DATA_DIR: join(work, 'admin') };
  run(['team', 'add', TEAM], { env: cloudEnv });
  for (const [username, role] of [['sam', 'engineer'], ...DRIVERS.map((d) => [d.username, 'driver'])]) {
    run(['user', 'add', '--username', username, '--role', role, '--team', TEAM, '--password-stdin'], { env: cloudEnv, input: `${PASSWORD}\n` });
  }

  // Two cloud nodes: one database, one Redis, one object store, one signing key.
  const objects = join(work, 'objects');
  mkdirSync(objects);
  const keyFile = join(work, 'signing-key.pem');
  const [portA, portB] = [await freePort(), await freePort()];
  const cloudArgs = (node, port) => [
    'cloud',
    '--listen', `127.0.0.1:${port}`,
    '--data-dir', join(work, node),
    '--database-url', runDbUrl,
    '--redis-url', redisUrl,
    '--storage-url', `file://${objects}`,
    '--signing-key-file', keyFile,
    '--node-id', node,
    '--chunk-seconds', '5',
    '--log', 'info',
  ]; // prettier-ignore
  const A = `http://127.0.0.1:${portA}`;
  const B = `http://127.0.0.1:${portB}`;
  const health = async (base) => (await fetch(base + '/health')).ok;
  let nodeA = startProcess('cloud-a', cloudArgs('node-a', portA));
  procs.push(nodeA);
  await waitFor(`node A /health (${nodeA.lastLine()})`, () => health(A), 60_000);
  const nodeB = startProcess('cloud-b', cloudArgs('node-b', portB));
  procs.push(nodeB);
  await waitFor(`node B /health (${nodeB.lastLine()})`, () => health(B), 60_000);
  console.log(`# ${since()} s: cloud node A ${A}, node B ${B}`);

  const sam = await loginApi(A, 'sam');
  for (const d of DRIVERS) {
    const { token, user } = await loginApi(A, d.username);
    Object.assign(d, { token, id: user.id });
    await api(A, `/api/drivers/${encodeURIComponent(d.id)}`, { method: 'PUT', token: sam.token, body: { name: d.name, number: d.number, status: 'active', role: 'primary' } });
  }
  const alex = DRIVERS[0];
  const driverId = alex.id; // the driver the dashboard watches
  // The relay's own credential (scope relay, bound to the team), issued by the engineer: a
  // driver's token is refused as a relay.
  const relayCredential = await api(A, '/api/relays/token', { method: 'POST', token: sam.token, body: { name: 'system-test relay' } });

  // The relay, given both nodes (A first, through a link whose answers the test can hold); it
  // trusts the cloud's keys from node B's JWKS.
  linkA = await startUplinkLink(portA);
  const viaA = `:${linkA.port}/`;
  const relayPort = await freePort();
  const R = `http://127.0.0.1:${relayPort}`;
  const relay = startProcess('relay', [
    'relay',
    '--listen', `127.0.0.1:${relayPort}`,
    '--data-dir', join(work, 'relay'),
    '--cloud-url', `ws://127.0.0.1:${linkA.port}/ws`,
    '--cloud-url', `ws://127.0.0.1:${portB}/ws`,
    '--cloud-token', relayCredential.token,
    '--jwks-url', `${B}/api/auth/jwks`,
    '--log', 'info',
  ]); // prettier-ignore
  procs.push(relay);
  const uplinks = []; // {url, at}
  relay.onLine((line, at) => {
    const hit = /uplink connected.*url=(\S+)/.exec(line);
    if (hit) uplinks.push({ url: hit[1], at });
  });
  await waitFor(`relay /health (${relay.lastLine()})`, async () => (await fetch(R + '/health')).ok, 30_000);
  tap = await startTap(`ws://127.0.0.1:${relayPort}/`);

  // The browser: engineer signed in to node B, on the live telemetry view.
  browser = await launchBrowser();
  const page = browser.page;
  const frames = []; // telemetry_update the dashboard received: {at, sessionTime}
  page.on('websocket', (ws) => {
    ws.on('framereceived', ({ payload }) => {
      if (typeof payload !== 'string' || !payload.includes('telemetry_update')) return;
      try {
        const m = JSON.parse(payload);
        for (const msg of Array.isArray(m) ? m : [m]) {
          if (msg.type === 'telemetry_update' && msg.data?.driverId === driverId) frames.push({ at: Date.now(), sessionTime: msg.data.sessionTime });
        }
      } catch {
        /* not JSON: not ours to judge here */
      }
    });
  });
  await login(page, B, 'sam', PASSWORD);

  // The driver agents: the built-in simulator at PACE, through the tap to the relay.
  for (const d of DRIVERS) {
    d.agentPort = await freePort();
    d.proc = startProcess(`driver-${d.username}`, [
      'driver',
      '--source', `sim:${d.seed}`,
      '--pace', PACE,
      '--driver-id', d.id,
      '--token', d.token,
      '--relay-url', tap.url,
      '--listen', `127.0.0.1:${d.agentPort}`,
      '--voice-enabled', 'false',
      '--data-dir', join(work, `driver-${d.username}`),
      '--log', 'info',
    ]); // prettier-ignore
    procs.push(d.proc);
  }
  const raceStart = Date.now();

  // What the dashboard shows, sampled all race long.
  const views = []; // {at, state, value}
  let watching = true;
  const watcher = (async () => {
    while (watching) {
      try {
        const v = await page.evaluate(() => ({
          state: document.querySelector('[data-testid=connection]')?.getAttribute('data-state') ?? null,
          value: ['tele-speed', 'tele-rpm', 'tele-gear']
            .map((id) => document.querySelector(`[data-testid=${id}]`)?.textContent ?? '')
            .join('|'),
        }));
        views.push({ at: Date.now(), ...v });
      } catch {
        /* page busy navigating */
      }
      await sleep(200);
    }
  })();
  /** Changes of the shown values within [from, to): count and the longest time without one. */
  const changesBetween = (from, to) => {
    const vs = views.filter((v) => v.at >= from && v.at < to && v.value.replace(/\|/g, '') !== '');
    let changes = 0;
    let lastChange = from;
    let longest = 0;
    for (let i = 1; i < vs.length; i++) {
      if (vs[i].value !== vs[i - 1].value) {
        changes++;
        longest = Math.max(longest, vs[i].at - lastChange);
        lastChange = vs[i].at;
      }
    }
    longest = Math.max(longest, to - lastChange);
    return { samples: vs.length, changes, longestStillMs: longest, states: [...new Set(views.filter((v) => v.at >= from && v.at < to).map((v) => v.state))] };
  };

  let frozenAt = 0;
  let killedAt = 0;
  let restartedAt = 0;
  let downEnd = 0;
  let spoolAtKill = null;
  let ackAtKill = {};

  const ok1 = await check('race live: driver → relay → node A, the dashboard on node B shows it (via Redis)', async () => {
    await waitFor('the relay using node A', () => uplinks.some((u) => u.url.includes(viaA)), 20_000);
    await page.getByRole('link', { name: 'Telemetry' }).click();
    await waitFor('both drivers on the dashboard', async () => (await page.getByLabel('Driver').locator('option').allTextContents()).length >= DRIVERS.length, 30_000);
    await page.getByLabel('Driver').selectOption({ label: alex.name });
    await page.getByTestId('tele-rpm').waitFor({ timeout: 30_000 });
    await waitFor('acks from the relay for every driver', () => DRIVERS.every((d) => tap.maxAck[d.id] > 0), 20_000);
    const wait = WARM_S * 1000 - (Date.now() - raceStart);
    if (wait > 0) await sleep(wait);
    const w = changesBetween(Date.now() - 5000, Date.now());
    assert(w.changes >= 3, `the dashboard's values changed ${w.changes} times in 5 s (${w.samples} looks)`);
    assert(frames.length > 0, 'the dashboard received no telemetry_update');
    const last = uplinks[uplinks.length - 1];
    assert(last.url.includes(viaA), `the relay's uplink is on ${last.url}, not node A`);
    await shot(page, 'system-01-before-kill');
  });

  if (ok1) {
    await check("node A's acks stall, then A is killed (SIGKILL) mid-race with batches unacknowledged: the relay fails over to node B", async () => {
      // The uplink's WebSocket, and now and then the relay's read of the revocation list.
      assert(linkA.holdAnswers() >= 1, 'the relay has no open connection to node A');
      frozenAt = Date.now();
      await sleep(FREEZE_MS);
      spoolAtKill = (await metrics(R)).spool_batches ?? null;
      ackAtKill = { ...tap.maxAck };
      killedAt = Date.now();
      const r = await nodeA.kill9();
      linkA.dropAll(); // what the relay sees of a dead node: its connection ends
      assert(r.signal === 'SIGKILL', `node A exited with ${JSON.stringify(r)}`);
      const moved = await waitFor('the relay connected to node B', () => uplinks.find((u) => u.at >= frozenAt && u.url.includes(`:${portB}/`)), DOWN_S * 1000);
      figures.failoverMs = moved.at - killedAt;
      const m = await metrics(R);
      assert(m.uplink_failovers_total >= 1, `uplink_failovers_total is ${m.uplink_failovers_total}`);
      assert(m.uplink_connected === 1, `uplink_connected is ${m.uplink_connected}`);
      assert(spoolAtKill > 0, 'no batch was waiting for an ack when node A died: the fail-over resent nothing');
    });

    await check('while node A is down the dashboard on node B keeps showing the race (live, values changing)', async () => {
      const wait = killedAt + DOWN_S * 1000 - Date.now();
      if (wait > 0) await sleep(wait);
      downEnd = Date.now();
      await shot(page, 'system-02-node-a-down');
      // From the hang on, node B alone serves the dashboard: its connection never drops.
      const whole = changesBetween(frozenAt, downEnd);
      figures.dashboardLongestStillDuringOutageMs = whole.longestStillMs;
      assert(whole.states.length === 1 && whole.states[0] === 'live', `the dashboard's connection was ${whole.states.join(', ')} while node A was down`);
      // From the fail-over on, the shown values change at least once a second, never still for 3 s.
      const afterFailover = killedAt + (figures.failoverMs ?? 0);
      const w = changesBetween(afterFailover, downEnd);
      assert(w.changes >= (downEnd - afterFailover) / 1000, `only ${w.changes} changes in ${((downEnd - afterFailover) / 1000).toFixed(1)} s after the fail-over`);
      assert(w.longestStillMs < 3000, `the values stood still for ${w.longestStillMs} ms after the fail-over`);
      // The samples it got during the outage are new ones: the race moved on.
      const during = frames.filter((f) => f.at >= afterFailover && f.at < downEnd);
      assert(during.length > 0, 'no telemetry reached the dashboard after the fail-over');
      const before = frames.filter((f) => f.at < frozenAt).at(-1)?.sessionTime ?? 0;
      const simMoved = during.at(-1).sessionTime - before;
      assert(simMoved > 5, `the race moved on ${simMoved.toFixed(1)} s of session time on the dashboard during the outage`);
      // The longest wait between two telemetry messages at the dashboard, from the stall to the end of the outage.
      const around = frames.filter((f) => f.at >= frozenAt - 1000 && f.at < downEnd);
      figures.dashboardLongestGapMs = Math.max(0, ...around.slice(1).map((f, i) => f.at - around[i].at));
      figures.dashboardFramesDuringOutage = frames.filter((f) => f.at >= killedAt && f.at < downEnd).length;
    });

    await check('node A restarted: healthy again, the race goes on, the dashboard still live', async () => {
      nodeA = startProcess('cloud-a', cloudArgs('node-a', portA));
      procs.push(nodeA);
      await waitFor(`node A /health after the restart (${nodeA.lastLine()})`, () => health(A), 60_000);
      restartedAt = Date.now();
      figures.nodeARestartMs = restartedAt - downEnd;
      await sleep(AFTER_S * 1000);
      const w = changesBetween(restartedAt, Date.now());
      assert(w.changes >= 3 && w.states.every((s) => s === 'live'), `after the restart: ${w.changes} changes, states ${w.states.join(', ')}`);
      const m = await metrics(R);
      assert(m.uplink_connected === 1, 'the relay has no uplink after node A came back');
      await shot(page, 'system-03-after-restart');
    });
  }

  // The end of the run: the agent stops, the relay hands over what it still holds.
  watching = false;
  await watcher;
  const statuses = {};
  for (const d of DRIVERS) statuses[d.username] = await api(`http://127.0.0.1:${d.agentPort}`, '/api/status').catch((e) => String(e.message));
  for (const d of DRIVERS) await d.proc.stop();
  await waitFor('the tap to see the agents go', () => tap.open === 0, 10_000);
  figures.raceSeconds = (Date.now() - raceStart) / 1000;
  await check('the relay hands the cloud everything it spooled (spool empty)', async () => {
    await waitFor(
      'an empty spool',
      async () => {
        const h = await api(R, '/health');
        return h.spool.batches === 0 && h.spool.messages === 0;
      },
      60_000,
    );
  });

  const sentOf = (id) => tap.sent.filter((x) => x.driverId === id);
  await check('after recovery every sample the drivers sent is stored exactly once (by driverId, sequence), read through both nodes', async () => {
    assert(tap.duplicateSends === 0, `an agent sent ${tap.duplicateSends} sequences twice`);
    const known = new Set(DRIVERS.map((d) => d.id));
    assert(tap.sent.every((x) => known.has(x.driverId)), 'a sample of an unknown driver went through the tap');
    const stored = {};
    for (const [label, base] of [
      ['A', A],
      ['B', B],
    ]) {
      const { token } = await loginApi(base, 'sam');
      const allSessions = await api(base, '/api/sessions?limit=1000', { token });
      for (const d of DRIVERS) {
        const sent = sentOf(d.id);
        assert(sent.length > 0, `${d.username} sent nothing`);
        // A sample's sessionTime is unique within a driver's race: it keys a stored sample back to
        // the sequence the agent sent it with (the lap telemetry API returns channels, not sequences).
        const bySessionTime = new Map(sent.map((x) => [x.sessionTime, x.sequence]));
        assert(bySessionTime.size === sent.length, `${d.username}: two samples share a sessionTime, it cannot key them`);
        const sessions = allSessions.filter((x) => x.driverId === d.id);
        assert(sessions.length > 0, `node ${label} lists no session of ${d.username}`);
        const count = new Map(); // sequence → times stored
        let unknown = 0;
        let lapCounted = 0;
        let lapsSeen = 0;
        for (const ses of sessions) {
          // The stored telemetry by lap counter (every stored sample in exactly one bucket), not
          // the sim's timed laps.
          const laps = await api(base, `/api/sessions/${encodeURIComponent(ses.id)}/telemetry-laps`, { token });
          for (const lap of laps) {
            lapsSeen++;
            lapCounted += lap.sampleCount;
            const t = await api(base, `/api/laps/${encodeURIComponent(lap.id)}/telemetry?channels=sessionTime`, { token });
            assert(t.sampleCount === lap.sampleCount, `${d.username} lap ${lap.lap}: the lap says ${lap.sampleCount} samples, its telemetry has ${t.sampleCount}`);
            for (const st of t.channels.sessionTime) {
              const seq = bySessionTime.get(st);
              if (seq === undefined) unknown++;
              else count.set(seq, (count.get(seq) ?? 0) + 1);
            }
          }
        }
        const dup = [...count.entries()].filter(([, n]) => n > 1);
        const missing = sent.filter((x) => !count.has(x.sequence));
        const missingAcked = missing.filter((x) => x.sequence <= (tap.maxAck[d.id] ?? 0));
        const ackedAtKill = sent.filter((x) => x.sequence <= (ackAtKill[d.id] ?? 0));
        stored[`${label}/${d.username}`] = { sessions: sessions.length, laps: lapsSeen, sent: sent.length, acked: sent.filter((x) => x.sequence <= (tap.maxAck[d.id] ?? 0)).length, ackedBeforeKill: ackedAtKill.length, stored: lapCounted, distinct: count.size, duplicates: dup.length, missing: missing.length, unknown };
        const who = `node ${label}, ${d.username}`;
        assert(dup.length === 0, `${who}: ${dup.length} samples stored more than once, e.g. sequence ${dup[0]?.[0]} ×${dup[0]?.[1]}`);
        assert(missingAcked.length === 0, `${who}: ${missingAcked.length} acknowledged samples are not stored, e.g. sequence ${missingAcked[0]?.sequence}`);
        assert(missing.length === 0, `${who}: ${missing.length} sent samples are not stored, e.g. sequence ${missing[0]?.sequence}`);
        assert(unknown === 0, `${who}: ${unknown} stored samples the agent never sent`);
        assert(lapCounted === sent.length, `${who}: the laps count ${lapCounted} samples, the agent sent ${sent.length}`);
      }
    }
    figures.storage = stored;
  });

  await check("PostgreSQL: each driver's relay batches 1…N all stored once; sample totals agree", async () => {
    const m = await metrics(R);
    const ids = DRIVERS.map((d) => `'${d.id.replace(/'/g, "''")}'`).join(',');
    const lastSum = Number(psql(runDbUrl, `SELECT COALESCE(SUM(last_sequence), 0) FROM uplink_sequences WHERE driver_id IN (${ids})`));
    const samples = Number(psql(runDbUrl, `SELECT COALESCE(SUM(sample_count), 0) FROM laps WHERE driver_id IN (${ids})`));
    const dupB = await fetch(B + '/metrics').then((r) => r.text()).then((t) => Number(/^pitbox_uplink_duplicates_total\s+(\d+)/m.exec(t)?.[1] ?? NaN));
    figures.relay = {
      batchesSpooled: m.spool_batches_total,
      samplesSpooled: m.spool_samples_total,
      batchesSent: m.uplink_batches_sent_total,
      batchesAcked: m.uplink_batches_acked_total,
      failovers: m.uplink_failovers_total,
      connects: m.uplink_connects_total,
      duplicatesDropped: m.duplicates_total,
    };
    figures.postgres = { lastBatchSequenceSum: lastSum, samples };
    figures.nodeBDuplicateBatches = dupB;
    // Batches are numbered 1, 2, 3 … per driver and the cloud refuses a gap, so the sum of the
    // drivers' last stored numbers equals every batch the relay cut only if all were stored.
    assert(lastSum === m.spool_batches_total, `the cloud's last batch numbers add up to ${lastSum}, the relay spooled ${m.spool_batches_total} batches`);
    assert(m.spool_samples_total === tap.sent.length, `the relay spooled ${m.spool_samples_total} samples, the agents sent ${tap.sent.length}`);
    assert(samples === tap.sent.length, `PostgreSQL counts ${samples} samples, the agents sent ${tap.sent.length}`);
    assert(m.uplink_batches_sent_total > m.spool_batches_total, `the relay sent ${m.uplink_batches_sent_total} batches for ${m.spool_batches_total} cut: nothing was resent after the fail-over`);
    // Node A stored batches whose acks it never got out; node B must recognise them, not store them again.
    assert(dupB > 0, `node B saw ${dupB} batches again: the resend held none that node A had stored`);
  });

  await check('no uncaught page errors in the dashboard', async () => {
    assert(browser.errors.length === 0, browser.errors.join(' | '));
  });

  figures.samplesSent = tap.sent.length;
  figures.samplesSentWhileADown = tap.sent.filter((x) => x.at >= frozenAt && x.at < restartedAt).length;
  figures.highestAck = tap.maxAck;
  figures.highestAckAtKill = ackAtKill;
  figures.relaySpoolBatchesAtKill = spoolAtKill;
  figures.agentStatus = statuses;
  figures.uplinks = uplinks.map((u) => `${((u.at - raceStart) / 1000).toFixed(1)} s ${u.url}`);
} catch (e) {
  results.push({ name: 'harness', ok: false, error: String(e?.message ?? e) });
  console.log(`FAIL harness: ${e instanceof Error ? e.stack : e}`);
} finally {
  await cleanup();
}

figures.runSeconds = (Date.now() - t0) / 1000;
console.log(`# figures: ${JSON.stringify(figures)}`);
const passed = results.filter((r) => r.ok).length;
const failed = results.length - passed;
mkdirSync(RESULTS, { recursive: true });
writeFileSync(join(RESULTS, 'system.json'), JSON.stringify({ passed, failed, results, figures }, null, 2));
finish(failed === 0 ? 0 : 1, `system: ${passed} passed, ${failed} failed`);
