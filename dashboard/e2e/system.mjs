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
// after recovery every sample the agents' sources produced (each agent's last line says how many;
// its spool sends them all) is stored exactly once, the live ones the tap saw among them (counted
// by session time through the REST API of both nodes; batch numbering checked in PostgreSQL).
//
// The "tap" is a WebSocket pass-through between the driver agent and the relay: the agent does
// not expose which samples it sent or which acks it got, so the tap records both (every
// telemetry_update frame forwarded, every `ack` returned) without changing a byte.
//
// Needs PITBOX_TEST_DATABASE_URL, PITBOX_TEST_REDIS_URL, psql, /usr/bin/chromium, a built
// dashboard/dist and target/debug/pitbox (scripts/test-system builds them). Skips plainly when a
// service or the browser is missing. Ends with "system: N passed, N failed" or
// "system: skipped — reason". Logs of every process go to dashboard/test-results/system/.
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { apiJson as api, freePort, launchBrowser, login, RESULTS, shot } from './harness.mjs';
import { assert, checks, cloudNodes, pinBinary, preflight, psql, relayMetrics as metrics, runDatabase, seedTeam, sleep, startProcess as startPitbox, startTap, startUplinkLink, stopAgent, waitFor } from './stack.mjs';

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

const { check, since, skip, fail, harnessFailed, done } = checks('system');
const figures = {};

// ---- preflight: what the test needs, or a plain skip ------------------------------------------

const { databaseUrl, redisUrl, built: BUILT } = await preflight({ skip, fail });

// ---- the run's private world ------------------------------------------------------------------

rmSync(LOGS, { recursive: true, force: true });
mkdirSync(LOGS, { recursive: true });
const work = mkdtempSync(join(tmpdir(), 'pitbox-system-'));
const PITBOX = pinBinary(BUILT, work);
const { name: dbName, url: runDbUrl } = runDatabase(databaseUrl, 'system');
const startProcess = (name, args, env) => startPitbox(PITBOX, LOGS, name, args, env);
const loginApi = (base, username) => api(base, '/api/auth/login', { method: 'POST', body: { username, password: PASSWORD } });

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
  process.once(sig, () => cleanup().finally(() => fail(`interrupted by ${sig}`)));
}
const WATCHDOG_MS = 10 * 60_000;
setTimeout(() => {
  console.log(`FAIL the run took longer than ${WATCHDOG_MS / 60_000} minutes`);
  cleanup().finally(() => fail('timed out'));
}, WATCHDOG_MS).unref();

try {
  psql(databaseUrl, `CREATE DATABASE ${dbName}`);
  dbCreated = true;
  console.log(`# ${since()} s: database ${dbName} created; logs in ${LOGS}`);
  seedTeam(PITBOX, { dbUrl: runDbUrl, work, team: TEAM, drivers: DRIVERS, password: PASSWORD });

  // Two cloud nodes: one database, one Redis, one object store, one signing key.
  const [portA, portB] = [await freePort(), await freePort()];
  const cloudArgs = cloudNodes({ work, dbUrl: runDbUrl, redisUrl });
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
  for (const d of DRIVERS) d.produced = await stopAgent(d.proc);
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
  await check('after recovery every sample the agents produced is stored exactly once (the live ones among them), read through both nodes', async () => {
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
        // Every sample the agent's source produced is stored (its spool sends them all, the live
        // ones the tap saw among them), each once: counted by session time, unique in a race.
        const count = new Map(); // sessionTime → times stored
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
            for (const st of t.channels.sessionTime) count.set(st, (count.get(st) ?? 0) + 1);
          }
        }
        const total = [...count.values()].reduce((a, b) => a + b, 0);
        const dup = [...count.entries()].filter(([, n]) => n > 1);
        const missing = sent.filter((x) => !count.has(x.sessionTime));
        stored[`${label}/${d.username}`] = { sessions: sessions.length, laps: lapsSeen, produced: d.produced, liveSent: sent.length, stored: total, distinct: count.size, duplicates: dup.length, liveMissing: missing.length };
        const who = `node ${label}, ${d.username}`;
        assert(dup.length === 0, `${who}: ${dup.length} samples stored more than once, e.g. session time ${dup[0]?.[0]} ×${dup[0]?.[1]}`);
        assert(missing.length === 0, `${who}: ${missing.length} samples shown live are not stored, e.g. sequence ${missing[0]?.sequence}`);
        assert(total === d.produced, `${who}: ${total} samples stored, the agent produced ${d.produced}`);
        assert(lapCounted === total, `${who}: the laps count ${lapCounted} samples, their telemetry ${total}`);
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
    const produced = DRIVERS.reduce((n, d) => n + d.produced, 0);
    assert(m.spool_samples_total === produced, `the relay spooled ${m.spool_samples_total} samples, the agents produced ${produced}`);
    assert(samples === produced, `PostgreSQL counts ${samples} samples, the agents produced ${produced}`);
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
  harnessFailed(e);
} finally {
  await cleanup();
}

done(figures);
