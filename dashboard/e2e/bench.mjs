// Performance bench: 10 simulated drivers streaming at 20 Hz (plus a 60-car field in the
// standings at 2 Hz) into one dashboard in headless Chromium, for BENCH_SECONDS (default 300).
// Prints, per view and overall: frame interval p50/p95, main-thread busy time per frame p95
// (window.__pitboxPerf, see src/perf.ts), long tasks, and the JS heap read through the Chrome
// DevTools Protocol after a forced GC at each checkpoint. Prints figures; asserts nothing.
import { benchUsers, launchBrowser, login, shot, startServer } from './harness.mjs';
import { startDrivers } from './sim-drivers.mjs';

const SECONDS = Number(process.env.BENCH_SECONDS ?? 300);
const DRIVERS = Number(process.env.BENCH_DRIVERS ?? 10);
const HZ = Number(process.env.BENCH_HZ ?? 20);
const VIEWS = [
  ['Telemetry', 'telemetry (7 streaming charts)'],
  ['Track map', 'track map (canvas, 60 cars)'],
  ['Standings', 'standings (60 cars, virtualised)'],
  ['Overview', 'overview'],
];

const users = benchUsers(DRIVERS);
const server = await startServer({ users });
const drivers = await startDrivers({
  url: server.url,
  hz: HZ,
  fieldSize: 60,
  historyLaps: 0,
  drivers: users.filter((u) => u.role === 'driver').map((u) => ({ username: u.username, password: u.password, id: u.id, name: u.name, inCar: true })),
});
const b = await launchBrowser({ width: 1280, height: 860 });
const page = b.page;
const cdp = await b.ctx.newCDPSession(page);
await cdp.send('Performance.enable');
// What reached the dashboard: WebSocket frames the page received.
let framesToPage = 0;
page.on('websocket', (ws) => ws.on('framereceived', () => (framesToPage += 1)));
const benchStart = Date.now();

/** The cloud's counters (Prometheus text at /metrics), by name. */
async function cloudMetrics() {
  try {
    const text = await fetch(server.url + '/metrics').then((r) => (r.ok ? r.text() : ''));
    return Object.fromEntries(text.split('\n').filter((l) => l.startsWith('pitbox_')).map((l) => l.split(/\s+/)).map(([k, v]) => [k, Number(v)]));
  } catch {
    return {};
  }
}

async function heapMB() {
  await cdp.send('HeapProfiler.collectGarbage');
  const { metrics } = await cdp.send('Performance.getMetrics');
  const get = (n) => metrics.find((m) => m.name === n)?.value ?? 0;
  return { used: get('JSHeapUsedSize') / 1048576, total: get('JSHeapTotalSize') / 1048576, nodes: get('Nodes'), listeners: get('JSEventListeners') };
}
const perf = () =>
  page.evaluate(() => {
    const p = window.__pitboxPerf;
    return { frames: p.frames, p50: p.p50, p95: p.p95, busyP50: p.busyP50, busyP95: p.busyP95, busyMax: p.busyMax, longTasks: p.longTasks };
  });
const f1 = (v) => v.toFixed(1);

console.log(`# bench: ${DRIVERS} drivers × ${HZ} Hz, 60-car standings at 2 Hz, ${SECONDS} s, server ${server.kind}`);
try {
  await login(page, server.url, 'sam');
  await page.waitForTimeout(3000); // warm-up: first data, charts created
  const heaps = [];
  const rows = [];
  const h0 = await heapMB();
  heaps.push(h0);
  const slice = Math.max(5, Math.floor(SECONDS / 8));
  let elapsed = 0;
  let i = 0;
  while (elapsed < SECONDS) {
    const [link, label] = VIEWS[i % VIEWS.length];
    await page.getByRole('link', { name: link, exact: true }).click();
    await page.waitForTimeout(1000);
    await page.evaluate(() => window.__pitboxPerf.reset());
    const dur = Math.min(slice, SECONDS - elapsed);
    await page.waitForTimeout(dur * 1000);
    elapsed += dur;
    const p = await perf();
    const h = await heapMB();
    heaps.push(h);
    rows.push({ label, ...p, heap: h.used });
    console.log(
      `${String(elapsed).padStart(4)} s  ${label.padEnd(34)} frames ${String(p.frames).padStart(5)}  interval p50 ${f1(p.p50)} p95 ${f1(p.p95)} ms  busy p50 ${f1(p.busyP50)} p95 ${f1(p.busyP95)} max ${f1(p.busyMax)} ms  long tasks ${p.longTasks}  heap ${f1(h.used)} MB  DOM nodes ${h.nodes}  listeners ${h.listeners}`,
    );
    if (i < VIEWS.length) await shot(page, `bench-${link.toLowerCase().replace(/ /g, '-')}`);
    i++;
  }
  const worstBusy = Math.max(...rows.map((r) => r.busyP95));
  const worstInterval = Math.max(...rows.map((r) => r.p95));
  // Heap trend: first vs last checkpoint on the same view cycle position, after GC.
  const firstLap = heaps.slice(1, 1 + VIEWS.length);
  const lastLap = heaps.slice(-VIEWS.length);
  const avg = (a) => a.reduce((s, h) => s + h.used, 0) / Math.max(1, a.length);
  console.log(`# frame interval p95 (worst view): ${f1(worstInterval)} ms (60 Hz display: 16.7 ms per frame)`);
  console.log(`# main-thread busy per frame p95 (worst view): ${f1(worstBusy)} ms`);
  console.log(`# JS heap after GC: start ${f1(h0.used)} MB, first cycle avg ${f1(avg(firstLap))} MB, last cycle avg ${f1(avg(lastLap))} MB, end ${f1(heaps[heaps.length - 1].used)} MB`);
  const m = await cloudMetrics();
  const secs = (Date.now() - benchStart) / 1000;
  console.log(`# dashboard received ${framesToPage} WebSocket frames in ${secs.toFixed(0)} s (${(framesToPage / secs).toFixed(0)}/s); cloud: ${m.pitbox_samples_stored_total ?? 'n/a'} samples stored, ${m.pitbox_bus_published_total ?? 'n/a'} bus events, ${m.pitbox_coaching_messages_total ?? 'n/a'} coaching messages`);
  if (b.errors.length) console.log(`# page errors: ${b.errors.join(' | ')}`);
} finally {
  await b.close();
  await drivers.stop();
  await server.close();
}
