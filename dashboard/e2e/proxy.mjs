// Serves the built dashboard and forwards every WebSocket upgrade to a backend — for the relay
// pit-wall check: `pitbox relay` does not mount pitbox-webui (yet), so this front serves `dist`
// with the relay's dashboard config (WebSocket at `/`, no REST) and passes the protocol through
// to the real relay untouched.
import { createServer } from 'node:http';
import { connect } from 'node:net';
import { readFile, stat } from 'node:fs/promises';
import { extname, join, normalize } from 'node:path';

const TYPES = { '.html': 'text/html; charset=utf-8', '.js': 'text/javascript; charset=utf-8', '.css': 'text/css; charset=utf-8', '.json': 'application/json' };

export async function startProxy({ dist, target, config = { wsPath: '/', restApi: false, serverName: 'pitbox relay (via e2e proxy)' } }) {
  const t = new URL(target);
  const server = createServer(async (req, res) => {
    const path = new URL(req.url, 'http://x').pathname;
    if (path === '/dashboard-config.json') {
      res.writeHead(200, { 'content-type': 'application/json' });
      return res.end(JSON.stringify(config));
    }
    let rel = normalize(decodeURIComponent(path)).replace(/^\/+/, '') || 'index.html';
    if (rel.includes('..')) rel = 'index.html';
    let p = join(dist, rel);
    if (!(await stat(p).then((s) => s.isFile()).catch(() => false))) {
      if (extname(rel)) {
        res.writeHead(404);
        return res.end();
      }
      p = join(dist, 'index.html');
    }
    res.writeHead(200, { 'content-type': TYPES[extname(p)] ?? 'application/octet-stream' });
    res.end(await readFile(p));
  });
  const tunnels = new Set();
  server.on('upgrade', (req, socket, head) => {
    tunnels.add(socket);
    socket.on('close', () => tunnels.delete(socket));
    const up = connect(Number(t.port), t.hostname, () => {
      const lines = [`${req.method} ${req.url} HTTP/1.1`, ...Object.entries({ ...req.headers, host: t.host }).map(([k, v]) => `${k}: ${v}`), '', ''];
      up.write(lines.join('\r\n'));
      if (head?.length) up.write(head);
      up.pipe(socket);
      socket.pipe(up);
    });
    const close = () => {
      up.destroy();
      socket.destroy();
    };
    up.on('error', close);
    socket.on('error', close);
    up.on('close', close);
    socket.on('close', close);
  });
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  return {
    url: `http://127.0.0.1:${server.address().port}`,
    async close() {
      // Upgraded sockets are no longer the HTTP server's: close them here, or close() waits.
      for (const s of tunnels) s.destroy();
      server.closeAllConnections?.();
      await new Promise((r) => server.close(r));
    },
  };
}
