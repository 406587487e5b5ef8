import { memo, useEffect, useState, type FormEvent } from 'react';
import { useApp, useServices } from '../app/context';
import { clock } from '../app/format';
import type { AttachmentType, Priority, TeamMessage } from '../protocol/types';
import { driverName, unreadMessages, type AppState } from '../store/app';
import type { Services } from '../app/services';

export function newId(prefix: string): string {
  const c = globalThis.crypto;
  const r = c && 'randomUUID' in c ? c.randomUUID() : `${Date.now().toString(36)}-${Math.random().toString(36).slice(2)}`;
  return `${prefix}-${r}`;
}

/** Marks messages read: a message_read to the team, applied locally at once. */
export function markRead(svc: Services, ids: string[]): void {
  const me = svc.store.getState().me;
  if (!me || ids.length === 0) return;
  const readAt = new Date().toISOString();
  const batch = ids.map((messageId) => ({ type: 'message_read' as const, data: { messageId, readerId: me.id, readAt } }));
  for (const m of batch) svc.send(m);
  svc.store.setState((s) => {
    let receipts = s.receipts;
    for (const { data } of batch) {
      if (receipts[data.messageId]?.[me.id]) continue;
      receipts = { ...receipts, [data.messageId]: { ...receipts[data.messageId], [me.id]: data.readAt } };
    }
    return receipts === s.receipts ? s : { ...s, receipts };
  });
}

const MessageItem = memo(function MessageItem({ m, readers, mine }: { m: TeamMessage; readers: string[]; mine: boolean }) {
  return (
    <li className={`msg p-${m.priority}${mine ? ' mine' : ''}`} data-testid="message">
      <div className="msg-head">
        <strong>{m.senderName}</strong>
        <span className={`pill p-${m.priority}`}>{m.priority}</span>
        <time dateTime={m.sentAt} className="muted">
          {clock(m.sentAt)}
        </time>
      </div>
      <p className="msg-body">{m.content}</p>
      {m.attachment && (
        <p className="attachment">
          {m.attachment.type === 'image' ? '🖼' : m.attachment.type === 'telemetry' ? '📈' : '📄'}{' '}
          <a href={m.attachment.url} target="_blank" rel="noreferrer noopener">
            {m.attachment.name}
          </a>{' '}
          <span className="muted small">({m.attachment.type})</span>
        </p>
      )}
      <p className="muted small receipts" data-testid="receipts">
        {readers.length === 0 ? 'not read yet' : `read by ${readers.join(', ')}`}
      </p>
    </li>
  );
});

function readersOf(s: AppState, id: string): string[] {
  return Object.keys(s.receipts[id] ?? {}).map((r) => (r === s.me?.id ? 'you' : driverName(s, r)));
}

export function Messages() {
  const svc = useServices();
  const messages = useApp((s) => s.messages);
  const receipts = useApp((s) => s.receipts);
  const me = useApp((s) => s.me);
  const role = me?.role;
  const canSend = role !== 'viewer';
  const [content, setContent] = useState('');
  const [priority, setPriority] = useState<Priority>('normal');
  const [attType, setAttType] = useState<AttachmentType | ''>('');
  const [attName, setAttName] = useState('');
  const [attUrl, setAttUrl] = useState('');
  const [note, setNote] = useState<string | null>(null);

  // Everything shown here counts as read.
  useEffect(() => {
    const ids = unreadMessages(svc.store.getState()).map((m) => m.id);
    markRead(svc, ids);
  }, [svc, messages]);

  const submit = (e: FormEvent) => {
    e.preventDefault();
    if (!me || !content.trim()) return;
    const msg: TeamMessage = {
      id: newId('msg'),
      content: content.trim(),
      senderId: me.id,
      senderName: me.username,
      priority,
      sentAt: new Date().toISOString(),
      read: false,
      attachment: attType && attName && attUrl ? { type: attType, name: attName, url: attUrl } : null,
    };
    const r = svc.send({ type: 'team_message', data: msg });
    svc.store.setState((s) => (s.messages.some((x) => x.id === msg.id) ? s : { ...s, messages: [...s.messages, msg] }));
    setNote(r === 'queued' ? 'Not connected: the message will be sent when the connection is back.' : null);
    setContent('');
    setAttType('');
    setAttName('');
    setAttUrl('');
    setPriority('normal');
  };

  const s = svc.store.getState();
  return (
    <div className="view messages">
      <h2>Team messages</h2>
      {messages.length === 0 ? (
        <p className="empty" role="status">
          No messages yet{canSend ? ': write the first one below.' : '.'}
        </p>
      ) : (
        <ol className="msgs" aria-label="Messages, oldest first">
          {messages.map((m) => (
            <MessageItem key={m.id} m={m} readers={receipts[m.id] ? readersOf(s, m.id) : []} mine={m.senderId === me?.id} />
          ))}
        </ol>
      )}
      {canSend ? (
        <form className="compose" onSubmit={submit} aria-label="New message">
          <label className="grow">
            Message
            <textarea value={content} onChange={(e) => setContent(e.target.value)} maxLength={4000} rows={2} required />
          </label>
          <label>
            Priority
            <select value={priority} onChange={(e) => setPriority(e.target.value as Priority)}>
              <option value="low">low</option>
              <option value="normal">normal</option>
              <option value="high">high</option>
              <option value="urgent">urgent</option>
            </select>
          </label>
          <fieldset className="attach">
            <legend>Attachment (optional)</legend>
            <label>
              Type
              <select value={attType} onChange={(e) => setAttType(e.target.value as AttachmentType | '')}>
                <option value="">none</option>
                <option value="document">document</option>
                <option value="image">image</option>
                <option value="telemetry">telemetry</option>
              </select>
            </label>
            {attType && (
              <>
                <label>
                  Name
                  <input value={attName} onChange={(e) => setAttName(e.target.value)} required maxLength={100} />
                </label>
                <label>
                  Link
                  <input value={attUrl} onChange={(e) => setAttUrl(e.target.value)} required placeholder="https://… or /api/laps/…/telemetry" pattern="(https?://|/).*" />
                </label>
              </>
            )}
          </fieldset>
          <button type="submit">Send</button>
          {note && (
            <p role="status" className="notice">
              {note}
            </p>
          )}
        </form>
      ) : (
        <p className="muted">Viewers read messages but cannot send them.</p>
      )}
    </div>
  );
}
