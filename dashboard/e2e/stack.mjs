// What the whole-system runs share (system.mjs: fail-over of a cloud node; weekend.mjs: a race
// weekend): the checks and their closing line, the services' preflight, `pitbox` processes with
// their logs, and the WebSocket tap that records what agents sent and what the relay acknowledged.
import { spawn, spawnSync } from 'node:child_process';
import { appendFileSync, copyFileSync, existsSync, linkSync, mkdirSync, writeFileSync } from 'node:fs';
import { connect as netConnect, createServer } from 'node:net';
import { join } from 'node:path';
import WebSocket, { WebSocketServer } from 'ws';
import { CHROMIUM, DIST, freePort, REPO, RESULTS } from './harness.mjs';

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

export function assert(cond, msg) {
  if (!cond) throw new Error(msg);
}

/**
 * The checks of one run, each printed as `ok NAME` or `FAIL NAME: why`; `finish` prints the
 * closing line `PREFIX: N passed, N failed` (what scripts/test-system and scripts/test count),
 * writes RESULTS/PREFIX.json with the figures and exits.
 */
export function checks(prefix) {
  const results = [];
  const t0 = Date.now();
  const finish = (code, line) => {
    console.log(line);
    process.exit(code);
  };
  return {
    results,
    t0,
    since: () => ((Date.now() - t0) / 1000).toFixed(1),
    skip: (reason) => finish(0, `${prefix}: skipped — ${reason}`),
    fail: (why) => finish(1, `${prefix}: 0 passed, 1 failed — ${why}`),
    async check(name, fn) {
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
    },
    harnessFailed(e) {
      results.push({ name: 'harness', ok: false, error: String(e?.message ?? e) });
      console.log(`FAIL harness: ${e instanceof Error ? e.stack : e}`);
    },
    done(figures) {
      figures.runSeconds = (Date.now() - t0) / 1000;
      console.log(`# figures: ${JSON.stringify(figures)}`);
      const passed = results.filter((r) => r.ok).length;
      const failed = results.length - passed;
      mkdirSync(RESULTS, { recursive: true });
      writeFileSync(join(RESULTS, `${prefix}.json`), JSON.stringify({ passed, failed, results, figures }, null, 2));
      finish(failed === 0 ? 0 : 1, `${prefix}: ${passed} passed, ${failed} failed`);
    },
    finish,
  };
}

export async function waitFor(what, fn, ms, stepMs = 200) {
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

export function psql(url, sql) {
  const r = spawnSync('psql', [url, '-v', 'ON_ERROR_STOP=1', '-Atqc', sql], { encoding: 'utf8', timeout: 30_000 });
  if (r.error) throw new Error(`psql: ${r.error.message}`);
  if (r.status !== 0) throw new Error(`psql ${sql.slice(0, 60)}: ${(r.stderr || r.stdout).trim()}`);
  return r.stdout.trim();
}

/**
 * What a whole-system run needs: PostgreSQL and Redis on their URLs, psql, Chromium, the built
 * binary and dashboard. Calls `skip(reason)` for a missing service and `fail(reason)` for a
 * missing build; returns the database and Redis URLs and the binary's path.
 */
export async function preflight({ skip, fail }) {
  const databaseUrl = process.env.PITBOX_TEST_DATABASE_URL;
  const redisUrl = process.env.PITBOX_TEST_REDIS_URL;
  if (!databaseUrl) skip('PITBOX_TEST_DATABASE_URL is not set (PostgreSQL, e.g. postgres://postgres@127.0.0.1:5432/test)');
  if (!redisUrl) skip('PITBOX_TEST_REDIS_URL is not set (Redis, e.g. redis://127.0.0.1:6379)');
  if (spawnSync('psql', ['--version']).error) skip('psql (PostgreSQL client) is not installed');
  const u = new URL(redisUrl);
  const err = await tcpAnswers(u.hostname, Number(u.port || 6379), 'PING\r\n', 'PONG');
  if (err) skip(`Redis at ${redisUrl} does not answer PING: ${err}`);
  try {
    psql(databaseUrl, 'SELECT 1');
  } catch (e) {
    skip(`PostgreSQL at ${databaseUrl} does not answer: ${e.message.split('\n')[0]}`);
  }
  if (!existsSync(CHROMIUM)) skip(`${CHROMIUM} is missing (Debian chromium: apt-get install chromium)`);
  const built = process.env.PITBOX_BIN ?? join(REPO, 'target/debug/pitbox');
  if (!existsSync(built)) fail(`${built} is not built (cargo build -p pitbox)`);
  if (!existsSync(join(DIST, 'index.html'))) fail('dashboard/dist is not built (scripts/build-dashboard)');
  return { databaseUrl, redisUrl, built };
}

/** A fresh PostgreSQL database for one run, on the server of `databaseUrl`: its name and URL. */
export function runDatabase(databaseUrl, prefix) {
  const name = `pitbox_${prefix}_${process.pid}_${Date.now().toString(36)}`;
  const u = new URL(databaseUrl);
  u.pathname = `/${name}`;
  return { name, url: u.toString() };
}

/**
 * The binary pinned for the run (a hard link in `work`, else a copy): a cargo build by someone
 * else mid-run must not swap the process that is restarted for another build.
 */
export function pinBinary(built, work) {
  const pinned = join(work, 'pitbox');
  try {
    linkSync(built, pinned);
  } catch {
    copyFileSync(built, pinned);
  }
  return pinned;
}

/** `pitbox ARGS…` run to its end: its stdout, or an error with its last line. */
export function runPitbox(pitbox, args, { env = {}, input } = {}) {
  const r = spawnSync(pitbox, args, { env: { ...process.env, ...env }, input, encoding: 'utf8', timeout: 60_000 });
  if (r.status !== 0) throw new Error(`pitbox ${args.slice(0, 2).join(' ')} failed (exit ${r.status}): ${(r.stderr || r.stdout || String(r.error)).trim().split('\n').pop()}`);
  return r.stdout;
}

const ANSI = /\x1b\[[0-9;]*m/g; // eslint-disable-line no-control-regex

/** `pitbox ARGS…` as a child of this run; its stderr goes to LOGS/<name>.log, line by line to `onLine` listeners. */
export function startProcess(pitbox, logs, name, args, env = {}) {
  const log = join(logs, `${name}.log`);
  appendFileSync(log, `---- ${new Date().toISOString()} pitbox ${args.join(' ')}\n`);
  const child = spawn(pitbox, args, { env: { ...process.env, NO_COLOR: '1', ...env }, stdio: ['ignore', 'ignore', 'pipe'] });
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

/** The relay's `pitbox_relay_*` figures from its /metrics, by name without the prefix. */
export async function relayMetrics(base) {
  const text = await fetch(base + '/metrics').then((r) => r.text());
  const m = {};
  for (const line of text.split('\n')) {
    const hit = /^(pitbox_relay_[a-z_]+)\s+([0-9.eE+-]+)$/.exec(line);
    if (hit) m[hit[1].replace('pitbox_relay_', '')] = Number(hit[2]);
  }
  return m;
}

/**
 * A WebSocket pass-through from driver agents to a relay that records what crossed it: every
 * telemetry_update an agent sent and the highest `ack` the relay gave each driver. Frames are
 * forwarded unchanged and in order. `setTarget` points new connections at another address (a
 * relay restarted on another port); the agents keep the tap's.
 */
export async function startTap(targetUrl) {
  const port = await freePort();
  const wss = new WebSocketServer({ host: '127.0.0.1', port });
  await new Promise((r) => wss.once('listening', r));
  const tap = { url: `ws://127.0.0.1:${port}`, sent: [], maxAck: {}, acks: [], connections: 0, open: 0, duplicateSends: 0 };
  let target = targetUrl;
  tap.setTarget = (url) => (target = url);
  const seen = new Set();
  wss.on('connection', (client) => {
    tap.connections++;
    tap.open++;
    const up = new WebSocket(target);
    const queue = [];
    const forward = (data, isBinary) => {
      if (!isBinary) {
        const m = JSON.parse(String(data));
        if (m.type === 'telemetry_update') {
          const d = m.data;
          const key = `${d.driverId}:${d.sequence}`;
          if (seen.has(key)) tap.duplicateSends++;
          seen.add(key);
          tap.sent.push({ driverId: d.driverId, sequence: d.sequence, sessionTime: d.sessionTime, simSessionId: d.simSessionId ?? null, lap: d.lap, at: Date.now() });
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
        if (m.type === 'ack') {
          tap.maxAck[m.data.driverId] = Math.max(tap.maxAck[m.data.driverId] ?? 0, m.data.sequence);
          tap.acks.push({ driverId: m.data.driverId, sequence: m.data.sequence, at: Date.now() });
        }
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
 * A TCP pass-through from the relay to a cloud node whose return direction can be held: while
 * held, the node keeps reading the relay's batches and committing them, but its answers (acks)
 * stay unread in the socket — the relay never learns those batches were stored. `dropAll` ends
 * every connection the way a dead node's do.
 */
export async function startUplinkLink(targetPort) {
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

/** The team `team` in the database at `dbUrl`, with an engineer `sam` and `drivers` (each `{ username }`), all with `password`. */
export function seedTeam(pitbox, { dbUrl, work, team, drivers, password }) {
  const env = { PITBOX_CLOUD_DATABASE_URL: dbUrl, PITBOX_CLOUD_DATA_DIR: join(work, 'admin') };
  runPitbox(pitbox, ['team', 'add', team], { env });
  for (const [username, role] of [['sam', 'engineer'], ...drivers.map((d) => [d.username, 'driver'])]) {
    runPitbox(pitbox, ['user', 'add', '--username', username, '--role', role, '--team', team, '--password-stdin'], { env, input: `${password}\n` });
  }
}

/**
 * Two cloud nodes' shared world in `work` (one database, one Redis, one file object store, one
 * signing key): `args(node, port)` gives a node's `pitbox cloud` arguments, `extra` appended.
 */
export function cloudNodes({ work, dbUrl, redisUrl, extra = [] }) {
  const objects = join(work, 'objects');
  mkdirSync(objects, { recursive: true });
  const keyFile = join(work, 'signing-key.pem');
  return (node, port) => [
    'cloud',
    '--listen', `127.0.0.1:${port}`,
    '--data-dir', join(work, node),
    '--database-url', dbUrl,
    '--redis-url', redisUrl,
    '--storage-url', `file://${objects}`,
    '--signing-key-file', keyFile,
    '--node-id', node,
    '--chunk-seconds', '5',
    '--log', 'info',
    ...extra,
  ]; // prettier-ignore
}

/**
 * Stops a `pitbox driver` (SIGTERM: it hands its spool over first) and returns how many samples
 * its source produced, from its last line (`agent stopped samples_produced=N …`).
 */
export async function stopAgent(proc) {
  let produced = null;
  proc.onLine((line) => {
    const hit = /agent stopped.*samples_produced=(\d+)/.exec(line);
    if (hit) produced = Number(hit[1]);
  });
  await proc.stop();
  if (produced === null) throw new Error(`${proc.name} did not say what it produced when it stopped (last line: ${proc.lastLine()})`);
  return produced;
}
