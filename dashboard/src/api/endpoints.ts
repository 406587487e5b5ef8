// Every REST route the dashboard calls, in one place (crates/cloud, issue 5). A route that does
// not exist yet answers 404 and the view that needs it shows "not available on this server".
export const ENDPOINTS = {
  login: '/api/auth/login',
  refresh: '/api/auth/refresh',
  logout: '/api/auth/logout',
  drivers: '/api/drivers',
  cueReference: (driverId: string) => `/api/drivers/${encodeURIComponent(driverId)}/cue-reference`,
  messages: '/api/messages',
  handoffs: '/api/handoffs',
  sessions: '/api/sessions',
  laps: (sessionId: string) => `/api/sessions/${encodeURIComponent(sessionId)}/laps`,
  lapTelemetry: (lapId: string) => `/api/laps/${encodeURIComponent(lapId)}/telemetry`,
  lapCompare: (lapId: string, referenceId: string) => `/api/laps/${encodeURIComponent(lapId)}/compare?reference=${encodeURIComponent(referenceId)}`,
  lapDownload: (lapId: string, format: 'ibt' | 'csv') => `/api/laps/${encodeURIComponent(lapId)}/${format}`,
  sessionDownload: (sessionId: string, format: 'ibt' | 'csv') => `/api/sessions/${encodeURIComponent(sessionId)}/${format}`,
  importIbt: (driverId: string) => `/api/sessions/import?driverId=${encodeURIComponent(driverId)}`,
  events: '/api/events',
  event: (id: string) => `/api/events/${encodeURIComponent(id)}`,
  coaching: '/api/coaching?limit=200',
  strategyPlan: '/api/strategy/plan',
  strategyPlanDryRun: '/api/strategy/plan?dryRun=true',
  config: '/dashboard-config.json',
} as const;

export interface ServerConfig {
  wsPath: string;
  restApi: boolean;
  serverName: string;
}

export const DEFAULT_CONFIG: ServerConfig = { wsPath: '/ws', restApi: true, serverName: 'cloud' };

/** Reads /dashboard-config.json (served by pitbox-webui); the cloud's defaults when absent. */
export async function loadServerConfig(f: typeof fetch = (...a) => globalThis.fetch(...a)): Promise<ServerConfig> {
  try {
    const r = await f(ENDPOINTS.config, { headers: { accept: 'application/json' } });
    if (!r.ok) return DEFAULT_CONFIG;
    const v = (await r.json()) as Partial<ServerConfig>;
    return {
      wsPath: typeof v.wsPath === 'string' ? v.wsPath : DEFAULT_CONFIG.wsPath,
      restApi: typeof v.restApi === 'boolean' ? v.restApi : DEFAULT_CONFIG.restApi,
      serverName: typeof v.serverName === 'string' ? v.serverName : DEFAULT_CONFIG.serverName,
    };
  } catch {
    return DEFAULT_CONFIG;
  }
}

export function wsUrl(path: string, loc?: Pick<Location, 'protocol' | 'host'>): string {
  if (!loc) {
    if (typeof location === 'undefined') return `ws://localhost${path}`;
    const override = new URLSearchParams(location.search).get('ws');
    if (override) return override;
    loc = location;
  }
  return `${loc.protocol === 'https:' ? 'wss:' : 'ws:'}//${loc.host}${path}`;
}
