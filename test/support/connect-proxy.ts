// A small HTTP CONNECT proxy that writes down each request line it is
// asked: enough to see that a connection went through the proxy (and where
// to), without a namespace or tinyproxy. `names` are host names only the
// proxy resolves (a client that reached the host some other way could not
// have resolved them).

import { connect, createServer, type AddressInfo, type Socket } from 'node:net';

export interface ConnectProxy {
  /** http://127.0.0.1:<port> */
  uri: string;
  /** The request lines, e.g. "CONNECT 127.0.0.1:8080 HTTP/1.1". */
  connects: string[];
  close(): Promise<void>;
}

export async function startConnectProxy(options: { names?: Record<string, string> } = {}): Promise<ConnectProxy> {
  const connects: string[] = [];
  const sockets = new Set<Socket>();
  const track = (socket: Socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => socket.destroy());
  };
  const server = createServer((client) => {
    track(client);
    client.once('data', (head) => {
      const line = head.toString('latin1').split('\r\n')[0]!;
      connects.push(line);
      const [method, authority] = line.split(' ');
      const at = authority?.lastIndexOf(':') ?? -1;
      if (method !== 'CONNECT' || at < 0) return client.end('HTTP/1.1 405 Method Not Allowed\r\n\r\n');
      const host = authority!.slice(0, at).replace(/^\[|\]$/g, '');
      const upstream = connect(Number(authority!.slice(at + 1)), options.names?.[host] ?? host, () => {
        client.write('HTTP/1.1 200 Connection established\r\n\r\n');
        upstream.pipe(client).pipe(upstream);
      });
      track(upstream);
      upstream.on('error', () => client.end('HTTP/1.1 502 Bad Gateway\r\n\r\n'));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    uri: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    connects,
    close: () =>
      new Promise((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}
