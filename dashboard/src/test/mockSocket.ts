// A WebSocket stand-in for unit tests: records what the client sends and lets the test play
// the server (open, frames, close codes).
export class MockSocket {
  static instances: MockSocket[] = [];
  static last(): MockSocket {
    const s = MockSocket.instances[MockSocket.instances.length - 1];
    if (!s) throw new Error('no socket opened');
    return s;
  }
  static reset(): void {
    MockSocket.instances = [];
  }
  readonly url: string;
  readyState = 0;
  sent: Array<{ type: string; data: Record<string, unknown> }> = [];
  closedWith: { code?: number; reason?: string } | null = null;
  onopen: ((ev: Event) => void) | null = null;
  onmessage: ((ev: MessageEvent) => void) | null = null;
  onclose: ((ev: CloseEvent) => void) | null = null;
  onerror: ((ev: Event) => void) | null = null;

  constructor(url: string) {
    this.url = url;
    MockSocket.instances.push(this);
  }
  send(text: string): void {
    this.sent.push(JSON.parse(text));
  }
  close(code?: number, reason?: string): void {
    this.closedWith = { code, reason };
    this.readyState = 3;
  }
  // --- server side ---
  open(): void {
    this.readyState = 1;
    this.onopen?.(new Event('open'));
  }
  frame(type: string, data: unknown): void {
    this.onmessage?.({ data: JSON.stringify({ type, data }) } as MessageEvent);
  }
  raw(text: unknown): void {
    this.onmessage?.({ data: text } as MessageEvent);
  }
  drop(code = 1006, reason = ''): void {
    this.readyState = 3;
    this.onclose?.({ code, reason } as CloseEvent);
  }
  /** Greets and accepts authentication. */
  accept(user = { userId: 'eng-1', role: 'engineer', teamId: 'team-apex' }): void {
    this.open();
    this.frame('connection_established', { serverId: 'srv', timestamp: '2026-11-26T16:00:00Z', version: '1.0', authTimeoutSecs: 10 });
    this.frame('authentication_result', { success: true, ...user });
  }
  types(): string[] {
    return this.sent.map((m) => m.type);
  }
}

export const asWS = MockSocket as unknown as typeof WebSocket;
