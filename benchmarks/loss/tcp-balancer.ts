import net from 'node:net';

/**
 * A TCP load balancer for the distributed loss check (what HAProxy is in docker-compose.yml):
 * each connection goes to the next upstream in turn; an upstream that refuses is skipped, so
 * devices reach a live gateway while another restarts. Bytes are piped, never read.
 */
export class TcpBalancer {
  private next = 0;
  private readonly sockets = new Set<net.Socket>();

  private constructor(
    private readonly server: net.Server,
    readonly port: number,
    private readonly upstreams: () => readonly number[],
  ) {}

  static async start(upstreams: () => readonly number[]): Promise<TcpBalancer> {
    const server = net.createServer();
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
    const lb = new TcpBalancer(server, (server.address() as net.AddressInfo).port, upstreams);
    server.on('connection', (client) => lb.route(client));
    return lb;
  }

  private route(client: net.Socket): void {
    this.sockets.add(client);
    client.once('close', () => this.sockets.delete(client));
    client.on('error', () => client.destroy());
    client.pause();
    const ports = this.upstreams();
    const tryUpstream = (attempt: number): void => {
      if (attempt >= ports.length || client.destroyed) {
        client.destroy();
        return;
      }
      const port = ports[(this.next++ + attempt) % ports.length] as number;
      const upstream = net.connect(port, '127.0.0.1');
      let connected = false;
      upstream.once('error', () => {
        if (!connected) tryUpstream(attempt + 1);
      });
      upstream.once('connect', () => {
        connected = true;
        this.sockets.add(upstream);
        upstream.once('close', () => {
          this.sockets.delete(upstream);
          client.destroy();
        });
        upstream.on('error', () => upstream.destroy());
        client.once('close', () => upstream.destroy());
        client.pipe(upstream);
        upstream.pipe(client);
        client.resume();
      });
    };
    tryUpstream(0);
  }

  async close(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}
