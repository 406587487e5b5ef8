// End-to-end suite: Debian Chromium (playwright-core) against the real `pitbox cloud` (and an
// offline `pitbox relay` for the pit wall) fed by simulated drivers.
// Prints one line per check and closes with "N passed, N failed". Screenshots go to
// dashboard/test-results/.
import { isDeepStrictEqual } from 'node:util';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { apiJson, axe, launchBrowser, login, REPO, RESULTS, shot, startDriverAgent, startRelay, startServer, USERS } from './harness.mjs';
import { startDrivers } from './sim-drivers.mjs';

const results = [];
let server;
let drivers;
/** The first browser's page, for a screenshot when a check fails. */
let page;
const browsers = [];

async function check(name, fn) {
  // E2E_ONLY=words runs only the checks whose name contains them (the harness still starts).
  if (process.env.E2E_ONLY && !name.includes(process.env.E2E_ONLY)) return;
  const t0 = Date.now();
  try {
    await fn();
    results.push({ name, ok: true });
    console.log(`ok   ${name} (${Date.now() - t0} ms)`);
  } catch (e) {
    results.push({ name, ok: false });
    const msg = e instanceof Error ? e.message : String(e);
    // The first line says what failed; Playwright's call log (which element, what blocked it) follows.
    console.log(`FAIL ${name}: ${msg.split('\n')[0]}`);
    for (const line of msg.split('\n').slice(1, 12)) if (line.trim()) console.log(`       ${line.trim()}`);
    await page?.screenshot({ path: join(RESULTS, `FAIL-${name.slice(0, 40).replace(/[^a-z0-9]+/gi, '-')}.png`) }).catch(() => {});
  }
}

function assert(cond, msg) {
  if (!cond) throw new Error(msg);
}

async function noSerious(page, view) {
  const v = await axe(page);
  assert(v.length === 0, `${view}: axe ${v.map((x) => `${x.id} (${x.impact}) at ${x.nodes.join(', ')}`).join('; ')}`);
}

const text = (page, id) => page.getByTestId(id).first().textContent();

try {
  server = await startServer();
  console.log(`# server: ${server.kind} at ${server.url}`);
  drivers = await startDrivers({ url: server.url, hz: 20, fieldSize: 40, historyLaps: 2 });
  const A = await launchBrowser();
  browsers.push(A);
  page = A.page;
  const base = server.url;

  await check('login page: wrong password is refused with a message; a11y', async () => {
    await page.goto(base + '/');
    await page.getByLabel('Username').fill('sam');
    await page.getByLabel('Password').fill('nope');
    await page.getByRole('button', { name: 'Sign in', exact: true }).click();
    await page.getByRole('alert').filter({ hasText: 'Wrong username or password' }).waitFor({ timeout: 5000 });
    await shot(page, '01-login');
    await noSerious(page, 'login');
  });

  await check('sign in; overview shows who is in the car with live values', async () => {
    await login(page, base, 'sam');
    await page.getByText('In the car:').waitFor({ timeout: 10_000 });
    await page.getByText('Alex Driver').first().waitFor();
    const a = await text(page, 'car-speed');
    await page.waitForFunction((prev) => document.querySelector('[data-testid=car-speed]')?.textContent !== prev, a, { timeout: 5000 });
    await page.waitForFunction(() => /P\d+/.test(document.querySelector('[data-testid=car-position]')?.textContent ?? ''), null, { timeout: 5000 });
    await shot(page, '02-overview');
    await noSerious(page, 'overview');
  });

  await check('live telemetry: values change and seven streaming charts draw', async () => {
    await page.getByRole('link', { name: 'Telemetry' }).click();
    await page.getByTestId('tele-speed').waitFor();
    const a = await text(page, 'tele-rpm');
    await page.waitForFunction((prev) => document.querySelector('[data-testid=tele-rpm]')?.textContent !== prev, a, { timeout: 5000 });
    await page.waitForFunction(() => document.querySelectorAll('.chart canvas').length >= 7, null, { timeout: 5000 });
    await page.waitForTimeout(1500);
    await shot(page, '03-telemetry');
    await noSerious(page, 'telemetry');
  });

  await check('track map: outline from position fixes, follow a car', async () => {
    await page.getByRole('link', { name: 'Track map' }).click();
    await page.waitForFunction(() => Number(document.querySelector('canvas.map')?.getAttribute('data-cars')) >= 40, null, { timeout: 10_000 });
    await page.waitForFunction(() => document.querySelector('[data-testid=outline-source]')?.textContent?.includes('position fixes'), null, { timeout: 20_000 });
    const options = await page.getByLabel('Follow a car').locator('option').allTextContents();
    const team = options.find((o) => o.includes('(team)'));
    assert(team, 'no team car in the follow list');
    await page.getByLabel('Follow a car').selectOption({ label: team });
    await page.getByTestId('followed').waitFor();
    const p1 = await text(page, 'followed');
    await page.waitForFunction((prev) => document.querySelector('[data-testid=followed]')?.textContent !== prev, p1, { timeout: 5000 });
    await shot(page, '04-trackmap');
    await noSerious(page, 'track map');
  });

  await check('standings: 40 cars, virtualised, team car highlighted', async () => {
    await page.getByRole('link', { name: 'Standings' }).click();
    await page.getByRole('table', { name: 'Standings' }).waitFor();
    await page.waitForFunction(() => document.querySelector('[role=table][aria-label=Standings]')?.getAttribute('aria-rowcount') === '41', null, { timeout: 5000 });
    const rendered = await page.locator('.vrow').count();
    assert(rendered < 40, `rendered ${rendered} rows of 40: not virtualised`);
    await page.locator('.vscroll').evaluate((el) => el.scrollTo(0, 100000));
    await page.waitForTimeout(300);
    await shot(page, '05-standings');
    await noSerious(page, 'standings');
  });

  const B = await launchBrowser({ width: 1024, height: 768 });
  browsers.push(B);
  const pageB = B.page;

  await check('messages: urgent message reaches a second browser, read receipt comes back', async () => {
    await login(pageB, base, 'jo');
    await page.getByRole('link', { name: 'Messages' }).click();
    await page.getByLabel('Message', { exact: true }).fill('Box this lap, fuel only.');
    await page.getByLabel('Priority').selectOption('urgent');
    await page.getByRole('button', { name: 'Send' }).click();
    await pageB.getByTestId('urgent-banner').filter({ hasText: 'Box this lap' }).waitFor({ timeout: 5000 });
    await pageB.getByTestId('badge-messages').waitFor();
    await shot(pageB, '06-urgent-banner-tablet');
    await noSerious(pageB, 'urgent banner');
    await pageB.getByRole('button', { name: 'Acknowledge' }).click();
    await pageB.getByTestId('urgent-banner').waitFor({ state: 'detached', timeout: 5000 });
    await page.getByTestId('receipts').filter({ hasText: 'read by Jo Relief' }).waitFor({ timeout: 5000 });
    await shot(page, '07-messages');
    await noSerious(page, 'messages');
  });

  await check('handoffs: request, accept in the other browser, complete; state machine visible', async () => {
    await page.getByRole('link', { name: 'Handoffs' }).click();
    await page.getByLabel('Hand the car to').selectOption({ label: 'Jo Relief' });
    await page.getByLabel('Reason').fill('End of stint 3');
    await page.getByRole('button', { name: 'Request handoff' }).click();
    await page.locator('[data-testid=handoff][data-status=pending]').waitFor({ timeout: 5000 });
    await pageB.getByRole('link', { name: /Handoffs/ }).click();
    await pageB.getByRole('button', { name: 'Accept' }).click();
    await page.locator('[data-testid=handoff][data-status=accepted]').waitFor({ timeout: 5000 });
    await shot(pageB, '08-handoff-accepted-tablet');
    await page.getByRole('button', { name: /Mark completed/ }).click();
    await pageB.locator('[data-testid=handoff][data-status=completed]').waitFor({ timeout: 5000 });
    await shot(page, '09-handoffs');
    await noSerious(page, 'handoffs');
  });

  await check('coaching feed: what the cloud said about the stored laps at once, then the next lap live; a11y', async () => {
    const { token } = await fetch(base + '/api/auth/login', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ username: 'sam', password: 'pitbox-e2e' }) }).then((r) => r.json());
    const storedCoaching = () => fetch(base + '/api/coaching', { headers: { authorization: `Bearer ${token}` } }).then((r) => r.json());
    const lapBefore = drivers.conns.find((c) => c.car).car.lap;
    const before = await storedCoaching();
    assert(before.length > 0, 'the cloud coached none of the uploaded laps');
    await page.getByRole('link', { name: 'Coaching' }).click();
    // History from GET /api/coaching (the dashboard loads it on connecting), newest first.
    await page.getByTestId('coaching').filter({ hasText: before[0].coaching.feedback.slice(0, 40) }).first().waitFor({ timeout: 5000 });
    await noSerious(page, 'coaching (history)');
    // The cloud coaches every stored lap: the team car's next completed lap (laps take ~57 s)
    // brings an ai_coaching message, stored and pushed live, on top of the feed.
    await page.waitForFunction((n) => document.querySelectorAll('[data-testid=coaching]').length > n, before.length, { timeout: 120_000 });
    const after = await storedCoaching();
    const live = after.find((r) => r.lap >= lapBefore);
    assert(live, `no stored coaching for lap ${lapBefore} or later: laps ${after.map((r) => r.lap).join(', ')}`);
    const top = (await text(page, 'coaching')) ?? '';
    assert(top.includes(live.coaching.feedback.slice(0, 40)), `the feed shows "${top.slice(0, 80)}" on top, the cloud stored "${live.coaching.feedback.slice(0, 80)}"`);
    await shot(page, '10-coaching');
    await noSerious(page, 'coaching');
  });

  await check('lap comparison: stored laps, traces against the reference with delta', async () => {
    await page.getByRole('link', { name: 'Lap comparison' }).click();
    const sel = page.getByLabel('Session');
    await sel.waitFor({ timeout: 10_000 });
    const opts = await sel.locator('option').allTextContents();
    await sel.selectOption({ index: opts.length - 1 });
    await page.getByTestId('compare-summary').waitFor({ timeout: 10_000 });
    await page.waitForFunction(() => document.querySelectorAll('.compare .chart canvas').length >= 3, null, { timeout: 5000 });
    await page.waitForTimeout(500);
    await shot(page, '11-compare');
    await noSerious(page, 'lap comparison');
  });

  // Issue 20: a real .ibt uploaded from the browser; the history shows its laps exactly as
  // `pitbox ibt laps` prints them, and the comparison between them ends at their difference.
  const tsukuba = join(REPO, '..', 'shared', 'data', 'ibt', 'Titan-Academy__track-titan-ibt-telemetry__formulavee_tsukuba_1kouter_2025-01-30_17-09-29.ibt');
  if (!existsSync(tsukuba)) {
    console.log(`SKIP history: real iRacing data not found at ${tsukuba}`);
  } else {
    await check('history: an .ibt uploaded in the browser shows its laps as pitbox ibt laps prints them; comparison ends at their difference, without a spike', async () => {
      const cli = spawnSync(join(REPO, 'target', 'debug', 'pitbox'), ['ibt', 'laps', tsukuba], { encoding: 'utf8' });
      assert(cli.status === 0, `pitbox ibt laps: ${cli.stderr}`);
      // lap number → the lapTime column (the last m:ss.mmm of a complete lap's row).
      const want = new Map();
      for (const line of cli.stdout.split('\n')) {
        const cells = line.trim().split(/\s+/);
        const times = cells.filter((c) => /^\d+:\d{2}\.\d{3}$/.test(c));
        if (/^\d+$/.test(cells[0] ?? '') && times.length > 0 && cells.includes('yes')) want.set(Number(cells[0]), times[times.length - 1]);
      }
      assert(want.size === 2, `pitbox ibt laps printed ${want.size} complete laps: ${cli.stdout}`);
      await page.getByRole('link', { name: 'History' }).click();
      // A refusal mid-upload reaches the browser with the cloud's reason, not as a reset.
      await page.getByLabel(/Driver/).fill('nobody-here');
      await page.getByTestId('ibt-file').setInputFiles(tsukuba);
      await page.getByTestId('upload-result').filter({ hasText: 'no driver `nobody-here`' }).waitFor({ timeout: 30_000 });
      const alex = await fetch(server.direct + '/api/auth/login', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ username: 'alex', password: 'pitbox-e2e' }) }).then((r) => r.json());
      await page.getByLabel(/Driver/).fill(alex.user.id);
      await page.getByTestId('ibt-file').setInputFiles(tsukuba);
      await page.getByTestId('upload-result').filter({ hasText: 'Imported' }).waitFor({ timeout: 30_000 });
      await page.getByRole('button', { name: /Tsukuba/ }).first().click();
      const table = page.getByTestId('lap-table');
      await table.waitFor({ timeout: 10_000 });
      for (const [lap, time] of want) {
        const shown = (await table.getByTestId(`lap-${lap}`).getByTestId('lap-time').textContent())?.trim();
        assert(shown === time, `lap ${lap}: the history shows ${shown}, pitbox ibt laps ${time}`);
      }
      assert(/pit road/.test((await table.getByTestId('lap-1').textContent()) ?? ''), 'the out lap is not marked invalid with its reason');
      assert(/best/.test((await table.getByTestId('lap-2').textContent()) ?? ''), 'the best valid lap is not marked');
      await shot(page, '11b-history');
      await noSerious(page, 'history');

      await page.getByRole('link', { name: 'Lap comparison' }).click();
      const sel = page.getByLabel('Session');
      await sel.waitFor({ timeout: 10_000 });
      const opts = await sel.locator('option').allTextContents();
      const idx = opts.findIndex((o) => o.includes('Tsukuba'));
      assert(idx >= 0, `no Tsukuba session among ${opts.join(' | ')}`);
      await sel.selectOption({ index: idx });
      const lapSel = page.locator('.compare select').nth(1);
      await lapSel.locator('option', { hasText: want.get(1) }).first().waitFor({ state: 'attached', timeout: 10_000 });
      const pick = async (select, t) => {
        const label = (await select.locator('option').allTextContents()).find((o) => o.includes(t));
        assert(label, `no option with ${t}`);
        await select.selectOption({ label });
      };
      await pick(lapSel, want.get(1));
      await pick(page.locator('.compare select').nth(3), want.get(2)); // Session, Lap, Reference session, Reference
      const secs = (t) => Number(t.split(':')[0]) * 60 + Number(t.split(':')[1]);
      const diff = (secs(want.get(1)) - secs(want.get(2))).toFixed(3);
      // The summary states the laps' own times (as listed) and their difference.
      const summary = page.getByTestId('compare-summary').filter({ hasText: `Lap ${want.get(1)} against reference ${want.get(2)}` });
      await summary.waitFor({ timeout: 15_000 });
      const said = Number(((await summary.textContent()) ?? '').match(/: ([+-]\d+\.\d+) s/)?.[1]);
      assert(Math.abs(said - Number(diff)) <= 0.0015, `the summary says ${said} s, the laps differ by ${diff} s`);
      const end = Number(((await text(page, 'delta-end')) ?? '').match(/([+-]\d+\.\d+) s/)?.[1]);
      assert(Math.abs(end - Number(diff)) <= 0.05, `the delta trace ends at ${end} s, the laps differ by ${diff} s`);
      // No spike: the trace never strays far outside what the laps differ by.
      const worst = Number(await page.getByTestId('delta-end').getAttribute('data-max-abs'));
      assert(worst <= Math.abs(Number(diff)) + 2, `the delta trace reaches ${worst} s for laps ${diff} s apart`);
      // The per-corner table from the coaching engine (GET /api/laps/{id}/compare), lap 1 against lap 2.
      await page.getByTestId('corners-source').filter({ hasText: 'lap 1 against lap 2' }).waitFor({ timeout: 15_000 });
      const rows = await page.getByTestId('corner-row').count();
      assert(rows > 0, 'the per-corner table has no corner');
      await shot(page, '11c-compare-tsukuba');
    });

    // The lap an engineer chooses in the history becomes the one a driver's in-car cues are made
    // against (PUT /api/drivers/{id}/cue-reference); the cloud refuses a lap that is not valid.
    await check('cue reference: engineer chooses a lap of the history for a driver\'s cues; an out lap is refused', async () => {
      const signIn = (username) =>
        fetch(server.direct + '/api/auth/login', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ username, password: 'pitbox-e2e' }) }).then((r) => r.json());
      const [sam, jo] = [await signIn('sam'), await signIn('jo')];
      await page.getByRole('link', { name: 'History' }).click();
      await page.getByRole('button', { name: /Tsukuba/ }).first().click();
      const table = page.getByTestId('lap-table');
      await table.waitFor({ timeout: 10_000 });
      const lap2 = table.getByTestId('lap-2');
      await lap2.getByLabel(/Cue reference for…/).selectOption({ label: 'Jo Relief' });
      await lap2.getByRole('button', { name: 'Use lap 2 for cues' }).click();
      await page.getByRole('status').filter({ hasText: /Cues for Jo Relief are now made against lap 2 \(0:23\.9(79|80)\)/ }).waitFor({ timeout: 15_000 });
      await page.getByTestId(`cue-ref-${jo.user.id}`).filter({ hasText: /Cue reference: lap 2 of .+ at Tsukuba.*, 0:23\.9(79|80) — set by/ }).waitFor({ timeout: 5000 });
      // What the cloud stored (and the driver's agent reads when it starts).
      const ref = await apiJson(server.direct, `/api/drivers/${encodeURIComponent(jo.user.id)}/cue-reference`, { token: sam.token });
      assert(ref.driverId === jo.user.id && /^lap 2 of /.test(ref.name ?? '') && Math.abs(ref.lapTimeS - 23.98) < 0.002 && ref.setBy === sam.user.id, `the cloud holds ${JSON.stringify(ref)}`);
      // Lap 1 is the out lap (pit road): refused with the cloud's reason.
      await table.getByTestId('lap-1').getByRole('button', { name: 'Use lap 1 for cues' }).click();
      await page.getByRole('alert').filter({ hasText: /Lap 1 was not chosen for .+'s cues: lap 1 is not a valid lap \(.*pit road/ }).waitFor({ timeout: 15_000 });
      await noSerious(page, 'history (cue reference)');
      await shot(page, '11d-cue-reference');
      // Back to Jo's own best lap, so the driver agents of later checks cue as before.
      await page.getByRole('button', { name: 'Use own best lap for Jo Relief' }).click();
      await page.getByTestId(`cue-ref-${jo.user.id}`).filter({ hasText: 'Cue reference: own best lap' }).waitFor({ timeout: 10_000 });
    });
  }

  await check('strategy: engineer edits the plan inputs, plans, sees the stint timeline; a what-if shows its difference', async () => {
    await page.getByRole('link', { name: 'Strategy' }).click();
    await page.locator('[data-testid=no-plan], [data-testid=timeline-plan]').first().waitFor({ timeout: 10_000 });
    // A 60-minute race on a 2-minute lap: 31 laps; a 50 L tank at 3 L a lap keeping 3 L lasts 15
    // laps, so 3 stints and 2 stops.
    await page.getByLabel('Race length in').selectOption('minutes');
    const fill = { 'Race (minutes)': '60', 'Lap time (s)': '120', 'Fuel per lap (L)': '3', 'Tank (L)': '50', 'Start fuel (L, default full)': '', 'Fuel margin (L, default 1 lap)': '', 'Pit lane loss (s)': '30', 'Refuel rate (L/s)': '2', 'Tyre change (s)': '20', 'New tyres every (stints, default 1)': '', 'Least driving per driver (min)': '', 'Most driving per driver (min)': '' };
    for (const [label, value] of Object.entries(fill)) await page.getByLabel(label, { exact: true }).fill(value);
    // Two drivers of the team, Alex then Jo (the form starts from the team's drivers).
    while ((await page.getByTestId('driver-row').count()) > 2) await page.getByRole('button', { name: /^Remove driver/ }).last().click();
    while ((await page.getByTestId('driver-row').count()) < 2) await page.getByRole('button', { name: 'Add driver' }).click();
    await page.getByLabel('Driver 1', { exact: true }).selectOption({ label: 'Alex Driver' });
    await page.getByLabel('Driver 2', { exact: true }).selectOption({ label: 'Jo Relief' });
    for (const i of [1, 2]) {
      await page.getByLabel(`Driver ${i} longest stint (min)`).fill('');
      await page.getByLabel(`Driver ${i} lap time (s)`).fill('');
    }
    await page.getByRole('button', { name: 'Make plan' }).click();
    await page.getByText('stored as the team\'s plan').waitFor({ timeout: 10_000 });
    const segs = page.getByTestId('timeline-plan').getByTestId('stint-seg');
    const labels = await segs.allTextContents();
    assert(labels.length === 3, `the timeline has ${labels.length} segments: ${labels.join(' | ')}`);
    // Stint k is driven by drivers[k mod 2], and the stints cover the race's 31 laps.
    const who = labels.map((l) => l.split(' · ')[0]);
    assert(who.join(',') === 'Alex Driver,Jo Relief,Alex Driver', `segments: ${labels.join(' | ')}`);
    const laps = labels.reduce((n, l) => n + Number(l.match(/(\d+) laps?$/)?.[1] ?? NaN), 0);
    assert(laps === 31, `the segments add up to ${laps} laps: ${labels.join(' | ')}`);
    const stops = await text(page, 'plan-stops');
    assert(stops === '2', `stops shown: ${stops}`);
    assert((await page.getByTestId('stint-row').count()) === 3, 'the stint table has not 3 rows');
    // Stored as the team's plan, as the form said.
    const { token } = await apiJson(base, '/api/auth/login', { method: 'POST', body: { username: 'sam', password: 'pitbox-e2e' } });
    const storedPlan = await apiJson(base, '/api/strategy/plan', { token });
    assert(storedPlan.stops === 2 && storedPlan.request?.tankL === 50 && storedPlan.request?.race?.minutes === 60, `stored plan: ${JSON.stringify(storedPlan).slice(0, 300)}`);
    await page.evaluate(() => window.scrollTo(0, 0));
    await shot(page, '16-strategy');
    await noSerious(page, 'strategy');

    // What-if, as a dry run: stop now.
    const live = (await page.getByTestId('no-live').count()) === 0;
    await page.getByRole('button', { name: 'Stop now' }).click();
    await page.locator('[data-testid=whatif-result], [data-testid=whatif-error]').first().waitFor({ timeout: 10_000 });
    if ((await page.getByTestId('whatif-error').count()) > 0) throw new Error(`the what-if failed: ${await text(page, 'whatif-error')}`);
    const diff = (await text(page, 'whatif-diff')) ?? '';
    // From the stored plan (no live plan yet) the tank is already full: the plan is the same, plus
    // the stop now, 30 s in the lane and nothing to fill.
    if (!live) assert(diff === '+1 stop, +30.0 s', `the what-if says "${diff}"`);
    else assert(/^(same stops|[+-]\d+ stops?), [+-]\d+\.\d s$/.test(diff), `the what-if says "${diff}"`);
    const w = await page.getByTestId('timeline-whatif').getByTestId('stint-seg').count();
    assert(w >= 1, 'the what-if timeline has no stint');
    // Nothing stored by the what-if: the team's plan is still the one made above.
    const after = await apiJson(base, '/api/strategy/plan', { token });
    assert(after.plannedAt === storedPlan.plannedAt && after.request?.startFuelL == null, `the what-if replaced the stored plan: ${JSON.stringify(after.request)}`);
    await shot(page, '16b-strategy-whatif');
    await noSerious(page, 'strategy what-if');
  });

  await check('pit stop: engineer sets the next stop for a car; the command reaches the car and iRacing\'s answer is shown', async () => {
    // The streaming car (a simulated driver agent): it records the pit_command it receives and
    // applies it to its pit service, which its samples then report as iRacing does.
    const carConn = drivers.conns.find((c) => c.car);
    assert(carConn, 'no simulated car is streaming');
    const others = drivers.conns.filter((c) => c !== carConn);
    const before = { car: carConn.pitCommands.length, others: others.map((c) => c.pitCommands.length) };
    const { user: sam } = await apiJson(base, '/api/auth/login', { method: 'POST', body: { username: 'sam', password: 'pitbox-e2e' } });
    await page.getByRole('link', { name: 'Strategy' }).click();
    const panel = page.getByTestId('pit-stop');
    await panel.waitFor({ timeout: 10_000 });
    await panel.scrollIntoViewIfNeeded();
    await panel.getByLabel('Car', { exact: true }).selectOption({ label: carConn.d.name });
    await panel.getByLabel('Fuel to add (L)').fill('42');
    await panel.getByRole('button', { name: 'all four' }).click();
    await panel.getByRole('button', { name: 'Send to car' }).click();
    const sentLine = panel.getByTestId('pit-sent');
    await sentLine.waitFor({ timeout: 5000 });
    const said = (await sentLine.textContent()) ?? '';
    assert(said === `Sent to ${carConn.d.name}: 42 L, four tyres`, `the panel says "${said}"`);
    const id = await sentLine.getAttribute('data-command-id');
    // The car's agent gets exactly the command; nobody else's does.
    const end = Date.now() + 10_000;
    while (Date.now() < end && carConn.pitCommands.length === before.car && (await panel.getByTestId('pit-refused').count()) === 0) await new Promise((r) => setTimeout(r, 100));
    if ((await panel.getByTestId('pit-refused').count()) > 0) throw new Error(`the server refused the pit command: ${await text(page, 'pit-refused')}`);
    const got = carConn.pitCommands.slice(before.car);
    assert(got.length === 1, `the car received ${got.length} pit_command messages in 10 s`);
    const [cmd] = got;
    const { timestamp, ...rest } = cmd;
    const want = { id, driverId: carConn.id, senderId: sam.id, senderName: 'sam', fuelL: 42, tyres: { lf: true, rf: true, lr: true, rr: true } };
    assert(isDeepStrictEqual(rest, want), `the car received ${JSON.stringify(cmd)}, the browser sent ${JSON.stringify(want)}`);
    assert(Math.abs(Date.parse(timestamp) - Date.now()) < 30_000, `the command's timestamp is ${timestamp}`);
    others.forEach((c, i) => assert(c.pitCommands.length === before.others[i], `${c.d.name}'s agent received another car's pit command`));
    // iRacing's answer: the car's samples now carry PitSvFuel / PitSvFlags, decoded and compared.
    try {
      await panel.getByTestId('pit-match').filter({ hasText: 'matches what was sent' }).waitFor({ timeout: 10_000 });
    } catch {
      throw new Error(`iRacing's answer is not shown as matching: "${await text(page, 'pit-iracing')}" (does the server relay pitServiceFuelL / pitServiceFlags of telemetry_update?)`);
    }
    const answer = (await text(page, 'pit-iracing')) ?? '';
    assert(answer.startsWith('iRacing has: 42 L fuel, LF RF LR RR'), `the panel says "${answer}"`);
    assert((await panel.getByTestId('pit-refused').count()) === 0, 'the panel shows a refusal');
    await panel.getByTestId('pit-iracing').scrollIntoViewIfNeeded();
    await shot(page, '17-pit-stop');
    await noSerious(page, 'strategy pit stop');
  });

  await check('connection: a dropped link shows reconnecting, then live again with data and what was said meanwhile', async () => {
    await page.getByRole('link', { name: 'Overview' }).click();
    await page.getByTestId('car-speed').waitFor();
    const kim = await fetch(server.direct + '/api/auth/login', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ username: 'kim', password: 'pitbox-e2e' }) }).then((r) => r.json());
    const cut = server.cutLink(2500);
    assert(cut > 0, 'no connection was open to cut');
    // Said while this dashboard is cut off (by someone the outage does not reach).
    const said = await fetch(server.direct + '/api/messages', {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${kim.token}` },
      body: JSON.stringify({ content: 'Kim here: said during the outage, rain at turn 4.', priority: 'normal' }),
    });
    assert(said.status === 201, `POST /api/messages: HTTP ${said.status}`);
    await page.waitForFunction(() => ['reconnecting', 'connecting', 'authenticating', 'offline'].includes(document.querySelector('[data-testid=connection]')?.getAttribute('data-state') ?? ''), null, { timeout: 5000 });
    await shot(page, '12-reconnecting');
    await page.waitForFunction(() => document.querySelector('[data-testid=connection]')?.getAttribute('data-state') === 'live', null, { timeout: 20_000 });
    // The simulated drivers were cut too and reconnect by themselves, like driver agents.
    const a = await text(page, 'car-speed');
    await page.waitForFunction((prev) => document.querySelector('[data-testid=car-speed]')?.textContent !== prev, a, { timeout: 10_000 });
    await page.getByRole('link', { name: /Messages/ }).click();
    await page.getByText('Kim here: said during the outage').waitFor({ timeout: 5000 });
  });

  await check('tablet: overview fits 1024 px without horizontal scrolling', async () => {
    await pageB.getByRole('link', { name: 'Overview' }).click();
    await pageB.getByText('In the car:').waitFor();
    const over = await pageB.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
    assert(over <= 0, `overflows by ${over}px`);
    await shot(pageB, '13-overview-tablet');
  });

  await check('sign out returns to the login page with the reason', async () => {
    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.getByText('You signed out.').waitFor({ timeout: 5000 });
  });

  await check('signing in again: messages and handoffs come back from the REST history', async () => {
    await login(page, base, 'sam');
    await page.getByRole('link', { name: 'Messages' }).click();
    await page.getByText('Box this lap, fuel only.').waitFor({ timeout: 5000 });
    await page.getByRole('link', { name: 'Handoffs' }).click();
    await page.locator('[data-testid=handoff][data-status=completed]').waitFor({ timeout: 5000 });
  });

  await check('relay pit wall: token sign-in, viewer reads but cannot write, no coaching yet, no lap storage', async () => {
    const relay = await startRelay({ users: USERS });
    const relayDrivers = await startDrivers({
      url: relay.direct,
      wsPath: '/',
      hz: 20,
      fieldSize: 20,
      drivers: USERS.filter((u) => u.role === 'driver').map((u) => ({ id: u.id, name: u.name, token: relay.tokenFor(u.username).token, inCar: u.driverRole === 'primary' })),
    }).catch(async (e) => {
      await relay.close();
      throw e;
    });
    try {
      await pageB.getByRole('button', { name: 'Sign out' }).click();
      await pageB.goto(relay.url + '/');
      await pageB.getByLabel(/Access token/).fill(relay.tokenFor('val').token);
      await pageB.getByRole('button', { name: 'Sign in', exact: true }).click();
      await pageB.waitForFunction(() => document.querySelector('[data-testid=connection]')?.getAttribute('data-state') === 'live', null, { timeout: 10_000 });
      await pageB.getByText('In the car:').waitFor({ timeout: 10_000 });
      await pageB.getByRole('link', { name: 'Messages' }).click();
      await pageB.getByText('Viewers read messages but cannot send them.').waitFor();
      await pageB.getByRole('link', { name: 'Coaching' }).click();
      await pageB.getByText('No coaching yet').waitFor(); // an offline relay coaches nothing
      await noSerious(pageB, 'coaching (empty)');
      await pageB.getByRole('link', { name: 'Lap comparison' }).click();
      await pageB.getByText('Not available on a relay').waitFor();
      await shot(pageB, '14-relay-viewer-tablet');
      await noSerious(pageB, 'relay lap comparison');
    } finally {
      await relayDrivers.stop();
      await relay.close();
    }
  });

  await check("driver's window: status and live screens, signed in, a team message read and answered, a handoff accepted with one click, signed out, the voice changed and a push-to-talk button captured and saved to pitbox.toml; other pages refused", async () => {
    const agent = await startDriverAgent({ cloud: server.direct, username: 'kim' });
    try {
      const W = await launchBrowser({ width: 1024, height: 768 });
      browsers.push(W);
      const w = W.page;
      await w.goto(agent.url + '/');
      await w.getByRole('heading', { name: 'PitBox driver' }).waitFor();
      // The built app, not the placeholder of a pitbox built without the dashboard.
      assert((await w.locator('meta[name=pitbox-placeholder]').count()) === 0, 'the agent serves the placeholder: rebuild pitbox after scripts/build-dashboard');
      const shows = async (what, fn) => {
        try {
          await w.waitForFunction(fn, null, { timeout: 15_000 });
        } catch {
          throw new Error(`the window never showed ${what}: ${await w.locator('main').innerText()} ${await w.getByTestId('error').innerText()} — the agent's log: ${agent.lastLine()}`);
        }
      };
      // Status: the agent's own truth — its link (here the cloud's WebSocket), the simulator, the
      // cloud sign-in state and the voice (off here), each with its words.
      await w.getByRole('link', { name: 'Status' }).click();
      await shows('the relay link ok', () => document.querySelector('[data-testid=status-relay]')?.textContent?.startsWith('ok'));
      await shows('the simulator connected', () => document.querySelector('[data-testid=status-sim]')?.textContent?.startsWith('connected'));
      await shows('the voice off, and why', () => document.querySelector('[data-testid=status-voice]')?.textContent === 'off — callouts and voice commands are off');
      // The window first, then the agent: the agent's count only grows meanwhile.
      const sent = Number((await w.getByTestId('samples-sent').innerText()).replace(/,/g, ''));
      const st = await (await fetch(agent.url + '/api/status')).json();
      assert(sent > 0 && sent <= st.telemetrySent, `the window shows ${sent} samples sent; the agent ${st.telemetrySent}`);
      await shot(w, 'driver-window-status');
      await noSerious(w, "driver's window: status");

      // Sign in from the window: the agent signs in at the cloud as `pitbox driver login` does
      // and keeps it in its data folder; this agent runs on a fixed token, and the window says so.
      await w.getByRole('link', { name: 'Sign in' }).click();
      await w.getByLabel("Team's PitBox address").fill(server.direct);
      await w.getByLabel('Username').fill('kim');
      await w.getByLabel('Password').fill('pitbox-e2e');
      await w.getByRole('button', { name: 'Sign in', exact: true }).click();
      await shows('the sign-in', () => document.querySelector('[data-testid=login-state]')?.textContent?.startsWith('Signed in as kim.'));
      const li = await (await fetch(agent.url + '/api/login')).json();
      assert(li.signedIn === true && li.username === 'kim' && li.userId === agent.userId && li.cloud === server.direct, `the agent's sign-in: ${JSON.stringify(li)}`);
      assert(!JSON.stringify(li).toLowerCase().includes('token":'), `a token in GET /api/login: ${JSON.stringify(li)}`);
      await shot(w, 'driver-window-signin');
      await noSerious(w, "driver's window: sign in");

      // Live: the numbers at a glance.
      await w.getByRole('link', { name: 'Live' }).click();
      await shows('a live speed', () => /\d+ km\/h/.test(document.querySelector('[data-testid=speed]')?.textContent ?? ''));
      await shows('a race position', () => /^P\d+$/.test(document.querySelector('[data-testid=position]')?.textContent ?? ''));
      await shows('a lap', () => /^\d+$/.test(document.querySelector('[data-testid=lap]')?.textContent ?? ''));

      // The engineer writes to the team; the driver reads it in the window and replies.
      const { token } = await apiJson(server.direct, '/api/auth/login', { method: 'POST', body: { username: 'sam', password: 'pitbox-e2e' } });
      await apiJson(server.direct, '/api/messages', { method: 'POST', token, body: { content: 'Window e2e: rain at turn 4 in two laps', priority: 'high' } });
      await w.getByText('Window e2e: rain at turn 4 in two laps').waitFor({ timeout: 10_000 });
      await w.getByLabel('Reply to the team').fill('Window e2e reply: copy, staying out');
      await w.getByRole('button', { name: 'Send', exact: true }).click();
      let stored = null;
      for (const end = Date.now() + 10_000; Date.now() < end && !stored; ) {
        const all = await apiJson(server.direct, '/api/messages', { token });
        stored = (Array.isArray(all) ? all : all.messages ?? []).find((m) => m.content === 'Window e2e reply: copy, staying out') ?? null;
        if (!stored) await new Promise((r) => setTimeout(r, 200));
      }
      assert(stored, "the cloud never stored the driver's reply");
      assert(stored.senderId === agent.userId, `the reply is from ${stored.senderId}, not the agent's driver ${agent.userId}`);
      await w.getByTestId('radio').getByText('Window e2e reply: copy, staying out').waitFor({ timeout: 5000 });

      // The engineer asks the agent's driver to take the car; the window answers with one click.
      const alex = await apiJson(server.direct, '/api/auth/login', { method: 'POST', body: { username: 'alex', password: 'pitbox-e2e' } });
      const h = await apiJson(server.direct, '/api/handoffs', {
        method: 'POST', token, body: { targetDriverId: agent.userId, requesterId: alex.user.id, reason: 'window e2e stint change' },
      });
      const id = h.id ?? h.data?.id;
      assert(id, `no handoff id in ${JSON.stringify(h)}`);
      await w.getByText('window e2e stint change').waitFor({ timeout: 10_000 });
      await w.screenshot({ path: join(RESULTS, 'driver-window-live.png'), fullPage: true });
      await noSerious(w, "driver's window: live");
      await w.getByRole('button', { name: 'Accept' }).click();
      const end = Date.now() + 10_000;
      let status = '';
      while (Date.now() < end && status !== 'accepted') {
        const all = await apiJson(server.direct, '/api/handoffs', { token });
        status = (all.find?.((x) => x.id === id) ?? (all.handoffs ?? []).find((x) => x.id === id))?.status ?? '';
        if (status !== 'accepted') await new Promise((r) => setTimeout(r, 200));
      }
      assert(status === 'accepted', `the cloud has handoff ${id} as "${status}", not accepted`);
      assert((await w.getByRole('button', { name: 'Accept' }).count()) === 0, 'the handoff can still be accepted after the answer');
      assert((await w.getByTestId('error').textContent()) === '', `the window shows an error: ${await w.getByTestId('error').textContent()}`);
      // Sign out: ended at the real cloud (a refusal there would show a warning) and gone here.
      await w.getByRole('link', { name: 'Sign in' }).click();
      await w.getByRole('button', { name: 'Sign out' }).click();
      await shows('the sign-out', () => document.querySelector('[data-testid=login-state]')?.textContent?.startsWith('Not signed in'));
      assert((await w.getByTestId('cloud-sign-out').count()) === 0, `the cloud did not end the sign-in: ${await w.getByTestId('cloud-sign-out').textContent().catch(() => '')}`);
      const out = await (await fetch(agent.url + '/api/login')).json();
      assert(out.signedIn === false, `the agent still has a sign-in: ${JSON.stringify(out)}`);
      // Settings: the voice changed and a push-to-talk button captured (SIGUSR1, as a key binder
      // sends it), saved; the agent uses the voice at once and wrote both to its pitbox.toml.
      await w.getByRole('link', { name: 'Settings' }).click();
      await w.getByTestId('settings').waitFor();
      await w.getByRole('combobox', { name: 'Voice', exact: true }).fill('engineer-uk');
      await w.getByLabel('Spoken callouts (engineer, team, fuel)').check();
      // Video: what it captures, its size and rate (off Windows only the test pattern, and why).
      const vs = w.getByTestId('video-settings');
      await vs.getByLabel('Frames per second').selectOption('15');
      await vs.getByLabel('Picture size').selectOption('960x540');
      const targetsNote = (await w.getByTestId('video-targets-note').textContent()) ?? '';
      assert(targetsNote.includes('Windows only'), `the video targets' note: ${targetsNote}`);
      await w.getByRole('button', { name: 'Set a button' }).click();
      // The signal only once the agent listens for it (SIGUSR1 before that would end it).
      let waiting = false;
      for (const end = Date.now() + 5000; Date.now() < end && !waiting; ) {
        waiting = (await (await fetch(agent.url + '/api/ptt/test')).json()).capturing === true;
        if (!waiting) await new Promise((r) => setTimeout(r, 50));
      }
      assert(waiting, 'the agent never waited for a push-to-talk press');
      process.kill(agent.pid, 'SIGUSR1');
      await w.getByTestId('settings-note').filter({ hasText: 'Heard signal. Save to keep it.' }).waitFor({ timeout: 10_000 });
      await w.getByRole('button', { name: 'Save' }).click();
      await w.getByTestId('settings-note').filter({ hasText: 'Saved.' }).waitFor({ timeout: 10_000 });
      const saved = await (await fetch(agent.url + '/api/settings')).json();
      assert(saved.settings.voiceId === 'engineer-uk' && isDeepStrictEqual(saved.settings.ptt, ['signal']) && saved.settings.callouts.voice === true, `the agent's settings: ${JSON.stringify(saved.settings)}`);
      assert(saved.restartNeeded.includes('ptt'), `a new button needs a restart, the agent says ${JSON.stringify(saved.restartNeeded)}`);
      const cfg = await (await fetch(agent.url + '/api/config')).json();
      assert(cfg.voice.voiceId === 'engineer-uk' && cfg.voice.enabled === true, `the running agent's voice: ${JSON.stringify(cfg.voice)}`);
      const toml = readFileSync(join(agent.data, 'pitbox.toml'), 'utf8');
      for (const line of ['voice_id = "engineer-uk"', 'ptt = ["signal"]', 'voice_enabled = true', 'video_capture = "test-pattern"', 'video_size = "960x540"', 'video_fps = 15'])
        assert(toml.includes(line), `pitbox.toml lacks ${line}:\n${toml}`);
      assert(saved.settings.video?.fps === 15 && saved.settings.video?.size === '960x540', `the agent's video settings: ${JSON.stringify(saved.settings.video)}`);
      const ready = await (await fetch(agent.url + '/api/status')).json();
      assert(ready.video === null && ready.videoReady === 'test-pattern', `video off and ready: ${JSON.stringify([ready.video, ready.videoReady])}`);
      // Test voice: spoken with the new voice, or the reason it cannot be on this machine.
      await w.getByRole('button', { name: 'Test voice' }).click();
      await shows('the test voice answer', () => (document.querySelector('[data-testid=settings-note]')?.textContent ?? '').startsWith('"Radio check') || (document.querySelector('[data-testid=error]')?.textContent ?? '').includes('cannot be spoken'));
      const note = await w.getByTestId('settings-note').textContent();
      if (note.startsWith('"Radio check')) assert(note.includes('voice engineer-uk'), `test voice: ${note}`);
      await w.evaluate(() => window.scrollTo(0, 0));
      await w.screenshot({ path: join(RESULTS, 'driver-window-settings.png'), fullPage: true });
      await noSerious(w, "driver's window: settings");
      // Another web page (here the dashboard's origin) may not change the agent.
      const foreign = await page.evaluate(async (u) => {
        try {
          const r = await fetch(u + '/api/messages/reply', { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"content":"from a foreign page"}' });
          return `answered ${r.status}`;
        } catch {
          return 'blocked';
        }
      }, agent.url);
      assert(foreign === 'blocked', `a foreign page's write to the agent was ${foreign}`);
      assert(W.errors.length === 0, W.errors.join(' | '));
    } finally {
      await agent.stop();
    }
  });

  await check('no uncaught page errors', async () => {
    const all = [...A.errors, ...B.errors];
    assert(all.length === 0, all.join(' | '));
  });
} catch (e) {
  results.push({ name: 'harness', ok: false });
  console.log(`FAIL harness: ${e instanceof Error ? e.stack : e}`);
} finally {
  for (const b of browsers) await b.close().catch(() => {});
  await drivers?.stop().catch(() => {});
  await server?.close().catch(() => {});
}

const passed = results.filter((r) => r.ok).length;
const failed = results.length - passed;
console.log(`e2e: ${passed} passed, ${failed} failed`);
mkdirSync(RESULTS, { recursive: true });
writeFileSync(join(RESULTS, 'e2e.json'), JSON.stringify({ passed, failed, results }));
process.exit(failed === 0 ? 0 : 1);
