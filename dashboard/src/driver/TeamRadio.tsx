import { useState, type FormEvent } from 'react';
import { clock } from '../app/format';
import type { ServerMessage } from '../protocol/types';
import type { LocalApi, PitCommandStatus } from './api';
import type { Act } from './StatusScreen';

/** One-click answers for the straight; anything else is typed. */
export const QUICK_REPLIES = ['Copy', 'Understood, will do', 'Boxing this lap', 'Say again?'];
/** The agent's limit (`POST /api/messages/reply`). */
export const MAX_REPLY = 500;

/** The coaching feed and the team's messages, newest first; a pending handoff is answered with
 * one click, and the driver replies to the team. */
export function TeamRadio({ messages, me, pit, act, api }: { messages: ServerMessage[]; me: string; pit: PitCommandStatus | null; act: Act; api: LocalApi }) {
  const [answered, setAnswered] = useState<ReadonlySet<string>>(new Set());
  const [draft, setDraft] = useState('');
  const [sending, setSending] = useState(false);

  const send = async (text: string) => {
    const content = text.trim();
    if (!content) return;
    setSending(true);
    const ok = await act(() => api.reply(content));
    setSending(false);
    if (ok && content === draft.trim()) setDraft('');
  };
  const submit = (e: FormEvent) => {
    e.preventDefault();
    void send(draft);
  };
  const answer = async (id: string, status: 'accepted' | 'rejected') => {
    if (await act(() => api.answerHandoff(id, status))) setAnswered((a) => new Set(a).add(id));
  };

  const coaching = messages.filter((m) => m.type === 'ai_coaching').slice(-20).reverse();
  const radio = messages.filter((m) => m.type !== 'ai_coaching').slice(-30).reverse();
  return (
    <>
      <section aria-labelledby="h-radio" className="drv-card">
        <h2 id="h-radio">Team radio</h2>
        <form className="drv-reply" onSubmit={submit}>
          <label htmlFor="drv-reply-text">Reply to the team</label>
          <div className="drv-reply-row">
            <input id="drv-reply-text" value={draft} maxLength={MAX_REPLY} onChange={(e) => setDraft(e.target.value)} placeholder="Type a reply" autoComplete="off" />
            <button type="submit" disabled={sending || !draft.trim()}>
              Send
            </button>
          </div>
          <div className="drv-quick" role="group" aria-label="Quick replies">
            {QUICK_REPLIES.map((q) => (
              <button key={q} type="button" className="drv-quiet" disabled={sending} onClick={() => void send(q)}>
                {q}
              </button>
            ))}
          </div>
        </form>
        {radio.length === 0 ? (
          <p className="drv-muted">No messages yet.</p>
        ) : (
          <ul className="drv-msgs" data-testid="radio">
            {radio.map((m) => {
              if (m.type === 'handoff_request') {
                const d = m.data;
                const open = d.status === 'pending' && !answered.has(d.id) && d.targetDriverId === me;
                return (
                  <li key={`h-${d.id}`} className="drv-handoff">
                    <span>
                      Handoff from <strong>{d.requesterName}</strong>: {d.reason}
                      {!open && <span className="drv-muted"> ({answered.has(d.id) ? 'answered' : d.status})</span>}
                    </span>
                    {open && (
                      <span className="drv-actions">
                        <button type="button" className="drv-accept" onClick={() => void answer(d.id, 'accepted')}>
                          Accept
                        </button>
                        <button type="button" className="drv-decline" onClick={() => void answer(d.id, 'rejected')}>
                          Decline
                        </button>
                      </span>
                    )}
                  </li>
                );
              }
              if (m.type === 'team_message') {
                const d = m.data;
                const mine = d.senderId === me;
                return (
                  <li key={`m-${d.id}`} className={mine ? 'drv-mine' : undefined}>
                    <span className="drv-when">{clock(d.sentAt)}</span> <strong>{mine ? 'You' : d.senderName}</strong>: {d.content}
                  </li>
                );
              }
              if (m.type === 'pit_command') {
                const d = m.data;
                return (
                  <li key={`p-${d.id}`}>
                    <span className="drv-when">{clock(d.timestamp)}</span> Pit stop set by <strong>{d.senderName}</strong>
                    {pit && pit.id === d.id ? `: ${pit.summary}` : ''}
                  </li>
                );
              }
              return null;
            })}
          </ul>
        )}
      </section>
      <section aria-labelledby="h-coaching" className="drv-card">
        <h2 id="h-coaching">Coaching</h2>
        {coaching.length === 0 ? (
          <p className="drv-muted">No coaching yet: it comes after each lap.</p>
        ) : (
          <ul className="drv-msgs" data-testid="coaching">
            {coaching.map((m, i) =>
              m.type === 'ai_coaching' ? (
                <li key={`c-${m.data.timestamp}-${i}`}>
                  <span className="drv-when">{m.data.lap !== undefined ? `lap ${m.data.lap}` : clock(m.data.timestamp)}</span> {m.data.feedback}
                </li>
              ) : null,
            )}
          </ul>
        )}
      </section>
    </>
  );
}
