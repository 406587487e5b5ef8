// Shared e2e plumbing: the server under test (the real `pitbox cloud` when it works, otherwise
// the Node stand-in), Debian Chromium through playwright-core, axe-core, screenshots.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';
import { startProxy } from './proxy.mjs';
import { startStandin } from './standin-server.mjs';

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

function freePort() {
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

/**
 * The real cloud, if `target/debug/pitbox cloud` is built (issue 5): users are added with
 * `pitbox user add` (its documented CLI) into a fresh data dir. Any step failing returns null
 * with the reason, and the caller uses the stand-in.
 */
async function tryRealCloud(users) {
  const bin = process.env.PITBOX_BIN ?? join(REPO, 'target/debug/pitbox');
  if (!existsSync(bin)) return { server: null, why: `${bin} not built` };
  const help = spawnSync(bin, ['cloud', '--help'], { encoding: 'utf8', timeout: 10_000 });
  if (help.status !== 0) return { server: null, why: `pitbox cloud not available yet (exit ${help.status})` };
  const data = mkdtempSync(join(tmpdir(), 'pitbox-e2e-cloud-'));
  // crates/cloud's CLI: `pitbox team add NAME`, `pitbox user add … --team NAME --password-stdin`,
  // `pitbox cloud --listen ADDR`, data under PITBOX_CLOUD_DATA_DIR.
  const env = { ...process.env, PITBOX_CLOUD_DATA_DIR: data };
  const team = spawnSync(bin, ['team', 'add', 'Apex Endurance'], { env, encoding: 'utf8', timeout: 20_000 });
  if (team.status !== 0) return { server: null, why: `pitbox team add failed (exit ${team.status}): ${(team.stderr || team.stdout).trim().split('\n').pop()}` };
  for (const u of users) {
    const r = spawnSync(bin, ['user', 'add', '--username', u.username, '--role', u.role, '--team', 'Apex Endurance', '--password-stdin'], { input: u.password + '\n', env, encoding: 'utf8', timeout: 20_000 });
    if (r.status !== 0) return { server: null, why: `pitbox user add failed: ${(r.stderr || r.stdout).trim().split('\n').pop()}` };
  }
  const port = await freePort();
  const child = spawn(bin, ['cloud', '--listen', `127.0.0.1:${port}`], { env, stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (d) => (stderr = (stderr + d).slice(-4000)));
  const url = `http://127.0.0.1:${port}`;
  if (!(await waitHttp(`${url}/health`, 20_000))) {
    child.kill('SIGTERM');
    return { server: null, why: `pitbox cloud did not answer /health: ${stderr.trim().split('\n').pop() ?? ''}` };
  }
  // A cloud that does not mount pitbox-webui yet gets the built dashboard from a small proxy that
  // forwards /api and /ws to it.
  const index = await fetch(url + '/').then((r) => r.text()).catch(() => '');
  const proxy = index.includes('id="root"') ? null : await startProxy({ dist: DIST, target: url });
  return {
    server: {
      kind: proxy ? 'pitbox cloud (dashboard from the e2e proxy)' : 'pitbox cloud',
      url: proxy ? proxy.url : url,
      dropAll: null,
      async close() {
        await proxy?.close();
        child.kill('SIGTERM');
        await new Promise((r) => child.once('exit', r));
        rmSync(data, { recursive: true, force: true });
      },
    },
    why: null,
  };
}

export async function startServer({ users = USERS, accessTtlS } = {}) {
  if (!existsSync(join(DIST, 'index.html')) || readFileSync(join(DIST, 'index.html'), 'utf8').includes('pitbox-placeholder')) {
    throw new Error('dashboard/dist is not built: run scripts/build-dashboard first');
  }
  const want = process.env.PITBOX_E2E_SERVER ?? 'auto';
  if (want !== 'standin') {
    const real = await tryRealCloud(users);
    if (real.server) return real.server;
    if (want === 'cloud') throw new Error(`PITBOX_E2E_SERVER=cloud but ${real.why}`);
    console.log(`# server: Node stand-in (${real.why})`);
  }
  const s = await startStandin({ dist: DIST, users, ...(accessTtlS ? { accessTtlS } : {}) });
  return { kind: 'stand-in', ...s };
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
