// Shared e2e plumbing: the servers under test (the real `pitbox cloud` and `pitbox relay`),
// Debian Chromium through playwright-core, axe-core, screenshots.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';
import { startLink } from './link.mjs';

export const DASHBOARD = fileURLToPath(new URL('..', import.meta.url));
export const REPO = dirname(DASHBOARD.replace(/\/$/, ''));
export const DIST = join(DASHBOARD, 'dist');
export const RESULTS = join(DASHBOARD, 'test-results');
export const CHROMIUM = process.env.PITBOX_CHROMIUM ?? '/usr/bin/chromium';
export const CHROME_FLAGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

export const TEAM = 'Apex Endurance';

export const USERS = [
  { id: 'eng-1', username: 'sam', password: 'pitbox-e2e', role: 'engineer', name: 'Sam (engineer)' },
  { id: 'drv-1', username: 'alex', password: 'pitbox-e2e', role: 'driver', name: 'Alex Driver', number: 23, driverRole: 'primary' },
  { id: 'drv-2', username: 'jo', password: 'pitbox-e2e', role: 'driver', name: 'Jo Relief', number: 23, driverRole: 'secondary' },
  { id: 'drv-3', username: 'kim', password: 'pitbox-e2e', role: 'driver', name: 'Kim Reserve', number: 23, driverRole: 'reserve' },
  { id: 'view-1', username: 'val', password: 'pitbox-e2e', role: 'viewer', name: 'Val Viewer' },
];

/** `n` extra simulated drivers (bench): drv-4 … */
export function benchUsers(n) {
  const extra = [];
  for (let i = 4; i <= n; i++) extra.push({ id: `drv-${i}`, username: `sim${i}`, password: 'pitbox-e2e', role: 'driver', name: `Sim Driver ${i}`, number: 20 + i, driverRole: 'reserve' });
  return [...USERS, ...extra];
}

/** A TCP port free on loopback right now. */
export function freePort() {
  return new Promise((resolve) => {
    const s = createServer();
    s.listen(0, '127.0.0.1', () => {
      const p = s.address().port;
      s.close(() => resolve(p));
    });
  });
}

async function waitHttp(url, ms) {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    try {
      const r = await fetch(url);
      if (r.ok) return true;
    } catch {
      /* not yet */
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  return false;
}

const PITBOX = process.env.PITBOX_BIN ?? join(REPO, 'target/debug/pitbox');

function run(args, { env, input } = {}) {
  const r = spawnSync(PITBOX, args, { env: { ...process.env, ...env }, input, encoding: 'utf8', timeout: 30_000 });
  if (r.status !== 0) throw new Error(`pitbox ${args.slice(0, 2).join(' ')} failed (exit ${r.status}): ${(r.stderr || r.stdout || String(r.error)).trim().split('\n').pop()}`);
  return r.stdout;
}

/** Starts `pitbox ARGS…` and keeps the tail of its stderr for error messages. */
function spawnPitbox(args, env) {
  const child = spawn(PITBOX, args, { env: { ...process.env, ...env }, stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (d) => (stderr = (stderr + d).slice(-4000)));
  const exited = new Promise((resolve) => child.once('exit', resolve));
  return {
    child,
    lastLine: () => stderr.trim().split('\n').pop() ?? '',
    async stop() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      await exited;
    },
  };
}

/**
 * A real `pitbox driver` on the built-in simulator, signed in as `username` (a token from the
 * cloud's REST sign-in) and streaming to the cloud's WebSocket, its local API and the driver's
 * window on a free loopback port.
 */
export async function startDriverAgent({ cloud, username, password = 'pitbox-e2e' }) {
  const { token, user } = await apiJson(cloud, '/api/auth/login', { method: 'POST', body: { username, password } });
  const data = mkdtempSync(join(tmpdir(), 'pitbox-e2e-agent-'));
  const port = await freePort();
  const agent = spawnPitbox(
    ['driver', '--source', 'sim', '--listen', `127.0.0.1:${port}`, '--data-dir', data,
      '--relay-url', `${cloud.replace(/^http/, 'ws')}/ws`, '--voice-enabled', 'false', '--spotter', 'false', '--cues', 'false'],
    { PITBOX_DRIVER_TOKEN: token },
  );
  const url = `http://127.0.0.1:${port}`;
  if (!(await waitHttp(`${url}/api/status`, 30_000))) {
    await agent.stop();
    throw new Error(`pitbox driver did not answer /api/status: ${agent.lastLine()}`);
  }
  return {
    url,
    userId: user.id,
    /** The agent's process (for SIGUSR1: push-to-talk as a key binder sends it). */
    pid: agent.child.pid,
    /** Its data folder (the pitbox.toml the window's settings are written to, the API key). */
    data,
    /** The last line the agent logged (for a failure's message). */
    lastLine: () => agent.lastLine(),
    async stop() {
      await agent.stop();
      rmSync(data, { recursive: true, force: true });
    },
  };
}

/** A JSON request to a PitBox server's REST API; throws with the method, URL and body on an HTTP error. */
export async function apiJson(base, path, { method = 'GET', token, body } = {}) {
  const r = await fetch(base + path, {
    method,
    headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await r.text();
  if (!r.ok) throw new Error(`${method} ${base}${path}: HTTP ${r.status} ${text.slice(0, 300)}`);
  return text ? JSON.parse(text) : null;
}

/**
 * The real `pitbox cloud` (build it first: `scripts/build-dashboard && cargo build -p pitbox`)
 * in a fresh data dir: the team and users are added with `pitbox team add` / `pitbox user add`,
 * the drivers' profiles (names, car number, line-up role) are set over REST by the engineer as a
 * team would, and every client reaches it through a link the suite can cut (`server.cutLink`).
 */
export async function startServer({ users = USERS } = {}) {
  if (!existsSync(join(DIST, 'index.html')) || readFileSync(join(DIST, 'index.html'), 'utf8').includes('pitbox-placeholder')) {
    throw new Error('dashboard/dist is not built: run scripts/build-dashboard first');
  }
  if (!existsSync(PITBOX)) throw new Error(`${PITBOX} is not built: run cargo build -p pitbox`);
  const data = mkdtempSync(join(tmpdir(), 'pitbox-e2e-cloud-'));
  const env = { PITBOX_CLOUD_DATA_DIR: data };
  let cloud = null;
  let link = null;
  let direct = '';
  try {
    run(['team', 'add', TEAM], { env });
    for (const u of users) {
      run(['user', 'add', '--username', u.username, '--role', u.role, '--team', TEAM, '--password-stdin'], { env, input: u.password + '\n' });
    }
    const port = await freePort();
    cloud = spawnPitbox(['cloud', '--listen', `127.0.0.1:${port}`], env);
    direct = `http://127.0.0.1:${port}`;
    if (!(await waitHttp(`${direct}/health`, 30_000))) throw new Error(`pitbox cloud did not answer /health: ${cloud.lastLine()}`);
    const index = await fetch(direct + '/').then((r) => r.text());
    if (!index.includes('id="root"')) throw new Error('pitbox cloud does not serve the dashboard at / (rebuild pitbox after scripts/build-dashboard)');
    // The binary embeds dist at build time (Vite's output is deterministic): a different
    // index.html means the suite would test an older dashboard than this source.
    if (index !== readFileSync(join(DIST, 'index.html'), 'utf8')) throw new Error(`${PITBOX} embeds another dashboard build than dashboard/dist: run cargo build -p pitbox after the dashboard build`);
    const engineer = users.find((u) => u.role === 'engineer');
    const { token } = await apiJson(direct, '/api/auth/login', { method: 'POST', body: { username: engineer.username, password: engineer.password } });
    for (const u of users.filter((x) => x.role === 'driver')) {
      const { user } = await apiJson(direct, '/api/auth/login', { method: 'POST', body: { username: u.username, password: u.password } });
      const profile = { name: u.name, number: u.number, status: u.driverRole === 'primary' ? 'active' : 'standby', role: u.driverRole };
      await apiJson(direct, `/api/drivers/${encodeURIComponent(user.id)}`, { method: 'PUT', token, body: profile });
    }
    link = await startLink(port);
  } catch (e) {
    await cloud?.stop();
    rmSync(data, { recursive: true, force: true });
    throw e;
  }
  return {
    kind: 'pitbox cloud',
    url: link.url,
    /** The cloud itself, bypassing the link (someone the cut does not reach). */
    direct,
    /** Drops every open connection (browsers and drivers) and refuses new ones for `downMs`. */
    cutLink: (downMs) => link.cut(downMs),
    async close() {
      await link.close();
      await cloud.stop();
      rmSync(data, { recursive: true, force: true });
    },
  };
}

/**
 * An offline `pitbox relay` (a pit wall on the LAN with no internet): tokens come from its own
 * key pair via `pitbox token`; the relay itself serves the dashboard (pitbox-webui, with its
 * WebSocket on the same `/` the drivers use).
 */
export async function startRelay({ users = USERS, teamId = 'team-relay-e2e' } = {}) {
  if (!existsSync(PITBOX)) throw new Error(`${PITBOX} is not built: run cargo build -p pitbox`);
  const data = mkdtempSync(join(tmpdir(), 'pitbox-e2e-relay-'));
  const tokens = new Map();
  for (const u of users) {
    const out = run(['token', '--data-dir', data, '--user-id', u.id, '--role', u.role, '--team', teamId, '--name', u.name, '--ttl', '2h']);
    tokens.set(u.username, { token: out.trim(), user: u });
  }
  const port = await freePort();
  const relay = spawnPitbox(['relay', '--listen', `127.0.0.1:${port}`, '--data-dir', data, '--log', 'warn'], {});
  const direct = `http://127.0.0.1:${port}`;
  // Any HTTP answer means it is listening.
  const end = Date.now() + 30_000;
  let up = false;
  while (!up && Date.now() < end && relay.child.exitCode === null) {
    up = await fetch(direct + '/').then(() => true, () => false);
    if (!up) await new Promise((r) => setTimeout(r, 200));
  }
  if (!up) {
    await relay.stop();
    rmSync(data, { recursive: true, force: true });
    throw new Error(`pitbox relay did not start: ${relay.lastLine()}`);
  }
  const shell = await fetch(direct + '/').then((r) => r.text());
  if (shell.includes('pitbox-placeholder')) {
    await relay.stop();
    rmSync(data, { recursive: true, force: true });
    throw new Error('pitbox relay serves the placeholder page: build the dashboard before pitbox');
  }
  return {
    kind: 'pitbox relay',
    url: direct,
    direct,
    tokenFor(username) {
      const t = tokens.get(username);
      if (!t) throw new Error(`no relay token for ${username}`);
      return t;
    },
    async close() {
      await relay.stop();
      rmSync(data, { recursive: true, force: true });
    },
  };
}

export async function launchBrowser(viewport = { width: 1280, height: 860 }) {
  if (!existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} missing: scripts/test-dashboard installs Debian chromium`);
  const dir = mkdtempSync(join(tmpdir(), 'pitbox-chromium-'));
  const ctx = await chromium.launchPersistentContext(dir, { executablePath: CHROMIUM, headless: true, args: CHROME_FLAGS, viewport });
  const page = ctx.pages()[0] ?? (await ctx.newPage());
  const errors = [];
  page.on('pageerror', (e) => errors.push(String(e)));
  return {
    ctx,
    page,
    errors,
    async close() {
      await ctx.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

const AXE = readFileSync(join(DASHBOARD, 'node_modules/axe-core/axe.min.js'), 'utf8');

/** axe-core on the page; returns violations of impact serious or critical. */
export async function axe(page) {
  if (!(await page.evaluate(() => 'axe' in window))) await page.addScriptTag({ content: AXE });
  const res = await page.evaluate(async () => {
    const r = await window.axe.run(document, { resultTypes: ['violations'] });
    return r.violations.map((v) => ({ id: v.id, impact: v.impact, help: v.help, nodes: v.nodes.slice(0, 3).map((n) => n.target.join(' ')) }));
  });
  return res.filter((v) => v.impact === 'serious' || v.impact === 'critical');
}

export async function shot(page, name) {
  mkdirSync(RESULTS, { recursive: true });
  const path = join(RESULTS, `${name}.png`);
  await page.screenshot({ path, fullPage: false });
  return path;
}

export async function login(page, base, username, password = 'pitbox-e2e') {
  await page.goto(base + '/');
  await page.getByLabel('Username').fill(username);
  await page.getByLabel('Password').fill(password);
  await page.getByRole('button', { name: 'Sign in', exact: true }).click();
  await page.getByTestId('connection').waitFor();
  await page.waitForFunction(() => document.querySelector('[data-testid=connection]')?.getAttribute('data-state') === 'live', null, { timeout: 15_000 });
}
