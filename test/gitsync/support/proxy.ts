/**
 * An HTTP CONNECT proxy on 127.0.0.1, as company networks have: it tunnels
 * TLS to the host and port a client asks for, and knows some host names
 * nobody else resolves (`hosts`: a name only the proxy can reach, so a
 * client that bypasses the proxy cannot even look it up). Every CONNECT is
 * recorded for assertions.
 */
import { createServer, type IncomingMessage, type Server } from 'node:http';
import { connect, type AddressInfo, type Socket } from 'node:net';

export interface ConnectProxy {
  /** http://127.0.0.1:PORT */
  url: string;
  /** Targets asked for, as host:port. */
  connects: string[];
  close(): Promise<void>;
}

export async function startConnectProxy(hosts: Record<string, string> = {}): Promise<ConnectProxy> {
  const connects: string[] = [];
  const sockets = new Set<Socket>();
  const server: Server = createServer((_req, res) => {
    // Plain HTTP proxying is not needed by these tests: git over HTTPS only ever CONNECTs.
    res.writeHead(405).end('CONNECT only\n');
  });
  server.on('connect', (req: IncomingMessage, client: Socket, head: Buffer) => {
    sockets.add(client);
    client.once('close', () => sockets.delete(client));
    const target = req.url ?? '';
    connects.push(target);
    const i = target.lastIndexOf(':');
    const [host, port] = [target.slice(0, i), Number(target.slice(i + 1))];
    const upstream = connect({ host: hosts[host] ?? host, port }, () => {
      client.write('HTTP/1.1 200 Connection Established\r\n\r\n');
      if (head.length) upstream.write(head);
      upstream.pipe(client);
      client.pipe(upstream);
    });
    sockets.add(upstream);
    upstream.once('close', () => sockets.delete(upstream));
    upstream.on('error', () => client.destroy());
    client.on('error', () => upstream.destroy());
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    connects,
    close: () =>
      new Promise((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}
