// Settings (issue 22 §1): the voice, push-to-talk, which callouts are on and the audio devices;
// and what video captures (issue 24).
// The agent writes them to its pitbox.toml, so the flags and the file stay the one source; what
// it cannot change while running is said ("after a restart").
import { useCallback, useEffect, useState } from 'react';
import { SettingsApi, type DriverSettings, type LocalApi, type PttTest, type SettingsView, type VideoChoice, type VideoTargets } from './api';
import type { Act } from './StatusScreen';

/** The voices the engines know by PitBox's names (any other name is passed to the engine). */
const VOICES = ['default', 'engineer', 'engineer-uk', 'engineer-f', 'engineer-uk-f', 'engineer-scot', 'engineer-deep'];

const LABELS: Record<string, string> = {
  voiceEngine: 'the voice engine',
  'callouts.spotter': 'the spotter',
  'callouts.cues': 'the corner cues',
  output: 'the output device',
  input: 'the input',
  ptt: 'the push-to-talk buttons',
  video: 'video settings',
  'video.atStart': 'choice of sending video from the start',
};

/** The sizes offered (any other is kept when the file has it). */
const VIDEO_SIZES = ['1920x1080', '1600x900', '1280x720', '960x540', '640x360'];
const IRACING_WINDOW = 'window:iRacing.com Simulator';

/** What the capture list offers: the iRacing window, the open windows, the monitors, the test
 * pattern, and the current choice even when it is not open now. */
export function captureOptions(current: string, t: VideoTargets | null | undefined): { value: string; label: string }[] {
  const out: { value: string; label: string }[] = [];
  const add = (value: string, label: string) => {
    if (!out.some((o) => o.value === value)) out.push({ value, label });
  };
  const windows = t?.windows ?? [];
  const monitors = t?.monitors ?? [];
  if (windows.length > 0 || monitors.length > 0 || current.startsWith('window:') || current.startsWith('monitor:')) {
    add(IRACING_WINDOW, `The iRacing window${windows.some((w) => w.includes('iRacing.com Simulator')) ? '' : ' (not open now)'}`);
  }
  if (current.startsWith('window:')) add(current, `Window: ${current.slice(7)}${windows.some((w) => w.includes(current.slice(7))) ? '' : ' (not open now)'}`);
  if (current.startsWith('monitor:') && !monitors.some((m) => m.source === current)) add(current, `Monitor ${current.slice(8)} (not connected now)`);
  for (const m of monitors) add(m.source, `Monitor ${m.source.slice(8)}: ${m.name}${m.width ? ` (${m.width}×${m.height})` : ''}`);
  for (const w of windows) add(`window:${w}`, `Window: ${w}`);
  add('test-pattern', 'Test pattern (colour bars)');
  return out;
}

function VideoSection({ video, targets, onChange }: { video: VideoChoice; targets: VideoTargets | null | undefined; onChange: (v: VideoChoice) => void }) {
  const set = (p: Partial<VideoChoice>) => onChange({ ...video, ...p });
  const sizes = VIDEO_SIZES.includes(video.size) ? VIDEO_SIZES : [video.size, ...VIDEO_SIZES];
  return (
    <section aria-labelledby="h-video-settings" className="drv-card" data-testid="video-settings">
      <h2 id="h-video-settings">Video</h2>
      {targets?.note && (
        <p className="warn" data-testid="video-targets-note">
          {targets.note}
        </p>
      )}
      <div className="drv-form">
        <label>
          Capture
          <select value={video.capture} onChange={(e) => set({ capture: e.target.value })}>
            {captureOptions(video.capture, targets).map((o) => (
              <option key={o.value} value={o.value}>
                {o.label}
              </option>
            ))}
          </select>
        </label>
        <label>
          Picture size
          <select value={video.size} onChange={(e) => set({ size: e.target.value })}>
            {sizes.map((s) => (
              <option key={s} value={s}>
                {s.replace('x', ' × ')}
              </option>
            ))}
          </select>
        </label>
        <label>
          Frames per second
          <select value={video.fps} onChange={(e) => set({ fps: Number(e.target.value) })}>
            {[...new Set([video.fps, 15, 30, 60])].sort((a, b) => a - b).map((f) => (
              <option key={f} value={f}>
                {f}
              </option>
            ))}
          </select>
        </label>
        <label>
          Bitrate: {(video.bitrate / 1e6).toFixed(1)} Mbit/s
          <input type="range" min={0.5} max={10} step={0.5} value={video.bitrate / 1e6} onChange={(e) => set({ bitrate: Math.round(Number(e.target.value) * 1e6) })} />
        </label>
        <label>
          Encoder
          <select value={video.encoder} onChange={(e) => set({ encoder: e.target.value })}>
            <option value="auto">Auto: graphics card, else software</option>
            <option value="hardware">Graphics card only</option>
            <option value="software">Software (openh264)</option>
          </select>
        </label>
        <label className="drv-check">
          <input type="checkbox" checked={video.atStart} onChange={(e) => set({ atStart: e.target.checked })} />
          Send my screen from the start (otherwise only when I turn it on or accept the pit wall&apos;s request)
        </label>
      </div>
    </section>
  );
}

/** "Saved. The voice engine and the input take effect when PitBox Driver starts again." */
export function restartSentence(keys: string[]): string {
  if (keys.length === 0) return 'Saved and in use.';
  const names = keys.map((k) => LABELS[k] ?? k);
  const list = names.length === 1 ? (names[0] ?? '') : `${names.slice(0, -1).join(', ')} and ${names[names.length - 1] ?? ''}`;
  return `Saved. PitBox Driver uses the new ${list.replace(/^the /, '').replace(/, the /g, ', ').replace(/ and the /, ' and ')} when it starts again.`;
}

export function SettingsScreen({ api, act }: { api: LocalApi; act: Act }) {
  const [sapi] = useState(() => new SettingsApi(api));
  const [view, setView] = useState<SettingsView | null>(null);
  const [form, setForm] = useState<DriverSettings | null>(null);
  const [unavailable, setUnavailable] = useState('');
  const [note, setNote] = useState('');
  const [capturing, setCapturing] = useState(false);
  const [heard, setHeard] = useState<PttTest | null>(null);
  const [busy, setBusy] = useState(false);

  const load = useCallback(async () => {
    try {
      const v = await sapi.load();
      setView(v);
      setForm(v.settings);
      setUnavailable('');
    } catch (e) {
      setUnavailable(e instanceof Error ? e.message : String(e));
    }
  }, [sapi]);
  useEffect(() => {
    void load();
  }, [load]);

  if (!form || !view) return <p className={unavailable ? 'bad' : 'drv-muted'}>{unavailable || 'Reading the settings…'}</p>;
  const set = (p: Partial<DriverSettings>) => setForm({ ...form, ...p });
  const dirty = JSON.stringify(form) !== JSON.stringify(view.settings);

  const save = async () => {
    setBusy(true);
    const ok = await act(async () => {
      const v = await sapi.save(form);
      if (v) {
        setView(v);
        setForm(v.settings);
        setNote(restartSentence(v.restartNeeded));
      }
    });
    if (!ok) setNote('');
    setBusy(false);
  };
  const testVoice = async () => {
    setBusy(true);
    await act(async () => {
      const t = await sapi.testVoice();
      if (t) setNote(`"${t.text}" — ${t.engine}, voice ${t.voiceId}, speed ${t.speed} on ${t.output}.`);
    });
    setBusy(false);
  };
  const capture = async () => {
    setCapturing(true);
    setNote('');
    await act(async () => {
      const c = await sapi.capture();
      if (c?.binding) {
        const binding = c.binding;
        setForm((f) => (f && !f.ptt.includes(binding) ? { ...f, ptt: [...f.ptt, binding] } : f));
        setNote(`Heard ${binding}. Save to keep it.`);
      } else if (c) {
        setNote(c.reason ?? 'No button was pressed.');
      }
    });
    setCapturing(false);
  };
  const testPtt = async () => {
    await act(async () => setHeard(await sapi.pttTest()));
  };
  const d = view.devices;
  const outputs = ['sound-card', ...d.outputs.map((n) => `sound-card:${n}`)];
  const inputs = ['mic', ...d.inputs.map((n) => `mic:${n}`)];

  return (
    <div className="drv-grid" data-testid="settings">
      <section aria-labelledby="h-voice" className="drv-card">
        <h2 id="h-voice">Voice</h2>
        <div className="drv-form">
          <label>
            Voice engine
            <select value={form.voiceEngine} onChange={(e) => set({ voiceEngine: e.target.value })}>
              {[...new Set([form.voiceEngine, ...view.engines])].map((e) => (
                <option key={e} value={e}>
                  {e}
                </option>
              ))}
            </select>
          </label>
          <label>
            Voice
            <input list="drv-voices" value={form.voiceId} onChange={(e) => set({ voiceId: e.target.value })} />
            <datalist id="drv-voices">
              {VOICES.map((v) => (
                <option key={v} value={v} />
              ))}
            </datalist>
          </label>
          <label>
            Speed: {form.speed.toFixed(2)}
            <input type="range" min={0.5} max={2} step={0.05} value={form.speed} onChange={(e) => set({ speed: Number(e.target.value) })} />
          </label>
          <label>
            Command sensitivity: {form.sensitivity.toFixed(2)}
            <input type="range" min={0} max={1} step={0.05} value={form.sensitivity} onChange={(e) => set({ sensitivity: Number(e.target.value) })} />
          </label>
        </div>
      </section>

      <section aria-labelledby="h-callouts" className="drv-card">
        <h2 id="h-callouts">Callouts</h2>
        <div className="drv-form">
          {(
            [
              ['voice', 'Spoken callouts (engineer, team, fuel)'],
              ['spotter', 'Spotter (car left, clear)'],
              ['cues', 'Cues before the corner'],
            ] as const
          ).map(([k, label]) => (
            <label key={k} className="drv-check">
              <input type="checkbox" checked={form.callouts[k]} onChange={(e) => set({ callouts: { ...form.callouts, [k]: e.target.checked } })} />
              {label}
            </label>
          ))}
        </div>
      </section>

      <section aria-labelledby="h-audio" className="drv-card">
        <h2 id="h-audio">Audio devices</h2>
        {d.note && (
          <p className="warn" data-testid="devices-note">
            {d.note}
          </p>
        )}
        <div className="drv-form">
          <label>
            Callouts play on
            <input list="drv-outputs" value={form.output} onChange={(e) => set({ output: e.target.value })} />
            {d.soundCard && (
              <datalist id="drv-outputs">
                {outputs.map((o) => (
                  <option key={o} value={o} />
                ))}
              </datalist>
            )}
          </label>
          <label>
            Voice commands from (empty: none)
            <input list="drv-inputs" value={form.input ?? ''} onChange={(e) => set({ input: e.target.value.trim() ? e.target.value : null })} />
            {d.soundCard && (
              <datalist id="drv-inputs">
                {inputs.map((o) => (
                  <option key={o} value={o} />
                ))}
              </datalist>
            )}
          </label>
        </div>
      </section>

      <section aria-labelledby="h-ptt" className="drv-card">
        <h2 id="h-ptt">Push-to-talk</h2>
        {form.ptt.length === 0 ? (
          <p className="drv-muted">No button: push-to-talk only from the window or tools.</p>
        ) : (
          <ul className="drv-msgs" data-testid="ptt-bindings">
            {form.ptt.map((b) => (
              <li key={b} className="drv-handoff">
                <code>{b}</code>
                <button type="button" className="drv-quiet" onClick={() => set({ ptt: form.ptt.filter((x) => x !== b) })}>
                  Remove
                </button>
              </li>
            ))}
          </ul>
        )}
        <div className="drv-actions">
          <button type="button" disabled={capturing} onClick={() => void capture()}>
            {capturing ? 'Press your wheel button now…' : 'Set a button'}
          </button>
          <button type="button" className="drv-quiet" onClick={() => void testPtt()}>
            What was heard
          </button>
        </div>
        {heard && (
          <dl className="drv-kv" data-testid="ptt-test">
            <dt>Last press</dt>
            <dd>{heard.lastPress ? `${new Date(heard.lastPress.at).toLocaleTimeString()}${heard.lastPress.refused ? ` — not taken: ${heard.lastPress.refused}` : ''}` : 'none yet'}</dd>
            <dt>Last heard</dt>
            <dd>{heard.lastHeard ? `"${heard.lastHeard.words}"${heard.lastHeard.phrase ? ` → ${heard.lastHeard.phrase}` : ' (no command)'}${heard.lastHeard.answers.length ? `: ${heard.lastHeard.answers.join(' ')}` : ''}` : 'nothing yet'}</dd>
          </dl>
        )}
      </section>

      {form.video && <VideoSection video={form.video} targets={view.videoTargets} onChange={(video) => set({ video })} />}

      <section aria-labelledby="h-save" className="drv-card">
        <h2 id="h-save">Save</h2>
        <p className="drv-muted">Written to {view.configFile ?? 'no file (this agent has no config file)'}.</p>
        <div className="drv-actions">
          <button type="button" className="drv-accept" disabled={busy || !dirty} onClick={() => void save()}>
            Save
          </button>
          <button type="button" className="drv-quiet" disabled={busy} onClick={() => void testVoice()}>
            Test voice
          </button>
        </div>
        {dirty && <p className="warn">Not saved yet.</p>}
        {!dirty && view.restartNeeded.length > 0 && !note && <p className="warn">{restartSentence(view.restartNeeded)}</p>}
        <p data-testid="settings-note" className="ok">
          {note}
        </p>
      </section>
    </div>
  );
}
