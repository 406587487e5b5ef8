// Serves the built dashboard and forwards /api, /health and the /ws upgrade to a backend — for
// running the e2e suite against a `pitbox cloud` that does not mount pitbox-webui (yet).
import { createServer, request } from 'node:http';
import { connect } from 'node:net';
import { readFile, stat } from 'node:fs/promises';
import { extname, join, normalize } from 'node:path';

const TYPES = { '.html': 'text/html; charset=utf-8', '.js': 'text/javascript; charset=utf-8', '.css': 'text/css; charset=utf-8', '.json': 'application/json' };

export async function startProxy({ dist, target }) {
  const t = new URL(target);
  const forward = (path) => path.startsWith('/api/') || path === '/health' || path === '/metrics';
  const server = createServer(async (req, res) => {
    const path = new URL(req.url, 'http://x').pathname;
    if (forward(path)) {
      const up = request({ host: t.hostname, port: t.port, method: req.method, path: req.url, headers: { ...req.headers, host: t.host } }, (r) => {
        res.writeHead(r.statusCode ?? 502, r.headers);
        r.pipe(res);
      });
      up.on('error', () => {
        res.writeHead(502);
        res.end('backend unreachable');
      });
      req.pipe(up);
      return;
    }
    if (path === '/dashboard-config.json') {
      res.writeHead(200, { 'content-type': 'application/json' });
      return res.end(JSON.stringify({ wsPath: '/ws', restApi: true, serverName: 'cloud (via e2e proxy)' }));
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
  server.on('upgrade', (req, socket, head) => {
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
      server.closeAllConnections?.();
      await new Promise((r) => server.close(r));
    },
  };
}
