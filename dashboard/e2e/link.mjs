// A TCP link between the e2e clients (browsers, simulated drivers) and the server under test
// that the suite can cut: `cut()` drops every open connection at once and refuses new ones for a
// while, as a pit-lane Wi-Fi outage would. Bytes pass through untouched (HTTP, WebSocket).
import { connect, createServer } from 'node:net';

/** Listens on a free loopback port and forwards each connection to `target` (a port on 127.0.0.1). */
export async function startLink(targetPort) {
  const open = new Set();
  let refuseUntil = 0;
  let cuts = 0;
  const server = createServer((client) => {
    if (Date.now() < refuseUntil) {
      client.destroy();
      return;
    }
    const upstream = connect(targetPort, '127.0.0.1');
    const pair = { client, upstream };
    open.add(pair);
    const close = () => {
      open.delete(pair);
      client.destroy();
      upstream.destroy();
    };
    client.on('error', close);
    upstream.on('error', close);
    client.on('close', close);
    upstream.on('close', close);
    client.pipe(upstream);
    upstream.pipe(client);
  });
  /** Drops every connection; new ones are closed at once for `downMs`. Returns how many were cut. */
  const cut = (downMs = 2000) => {
    cuts += 1;
    refuseUntil = Date.now() + downMs;
    const n = open.size;
    for (const p of [...open]) {
      p.client.destroy();
      p.upstream.destroy();
    }
    open.clear();
    return n;
  };
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${server.address().port}`,
    /** Connections open right now. */
    get open() {
      return open.size;
    },
    /** Times the link was cut. */
    get cuts() {
      return cuts;
    },
    cut,
    async close() {
      cut(0);
      cuts -= 1;
      await new Promise((resolve) => server.close(resolve));
    },
  };
}
