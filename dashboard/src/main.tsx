import { StrictMode } from 'react';
import { createRoot } from 'react-dom/client';
import { AuthManager } from './api/auth';
import { loadServerConfig } from './api/endpoints';
import { App } from './App';
import { startPerfMonitor } from './perf';
import './styles.css';

async function main() {
  const config = await loadServerConfig();
  const auth = new AuthManager();
  auth.restore();
  startPerfMonitor();
  const root = document.getElementById('root');
  if (!root) throw new Error('#root missing');
  createRoot(root).render(
    <StrictMode>
      <App auth={auth} config={config} />
    </StrictMode>,
  );
}

void main();
