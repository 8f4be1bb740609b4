/** Loopback networking for tests, bench and chaos: free ports, and a TCP proxy that can cut the broker off. */
import net from 'node:net';
import { AMQP_URL } from './broker.js';

/** A loopback port nothing listens on right now (bound, then released): for --listen, or a closed port. */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => {
        if (address !== null && typeof address === 'object') resolve(address.port);
        else reject(new Error('no port'));
      });
    });
  });
}

/**
 * A TCP proxy on loopback in front of the broker, which a scenario can cut (connections reset,
 * new ones refused: the broker is unreachable for whoever connects through it) and restore,
 * without stopping the broker for anyone else.
 */
export class TcpProxy {
  private server: net.Server | null = null;
  private readonly pairs = new Set<{ client: net.Socket; upstream: net.Socket }>();
  private listenPort = 0;

  constructor(
    private readonly targetHost: string,
    private readonly targetPort: number,
  ) {}

  get port(): number {
    return this.listenPort;
  }

  /** Listens on `port` (0 = any free one); returns the port. */
  async start(port = this.listenPort): Promise<number> {
    const server = net.createServer((client) => this.accept(client));
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, '127.0.0.1', () => {
        server.off('error', reject);
        resolve();
      });
    });
    const address = server.address();
    this.listenPort = typeof address === 'object' && address !== null ? address.port : port;
    this.server = server;
    return this.listenPort;
  }

  private accept(client: net.Socket): void {
    const upstream = net.connect(this.targetPort, this.targetHost);
    const pair = { client, upstream };
    this.pairs.add(pair);
    // A clean close on one side ends the other after what is in flight (pipe does that); an error resets both.
    const reset = (): void => {
      client.destroy();
      upstream.destroy();
    };
    client.on('error', reset);
    upstream.on('error', reset);
    const forget = (): void => {
      if (client.destroyed && upstream.destroyed) this.pairs.delete(pair);
    };
    client.on('close', () => {
      upstream.end();
      forget();
    });
    upstream.on('close', () => {
      client.end();
      forget();
    });
    client.pipe(upstream);
    upstream.pipe(client);
  }

  /** The local ports of the proxy's connections to the broker: the broker sees them as peer ports. */
  upstreamPorts(): number[] {
    return [...this.pairs]
      .map((pair) => pair.upstream.localPort)
      .filter((port): port is number => port !== undefined);
  }

  /** Cuts every connection and stops listening: connecting through the proxy is refused. */
  async cut(): Promise<void> {
    const server = this.server;
    this.server = null;
    for (const pair of this.pairs) {
      pair.client.destroy();
      pair.upstream.destroy();
    }
    this.pairs.clear();
    if (server !== null) await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  /** Listens again on the same port. */
  async restore(): Promise<void> {
    if (this.server === null) await this.start(this.listenPort);
  }

  async close(): Promise<void> {
    await this.cut();
  }
}

/**
 * A proxy in front of the test broker and the AMQP URL that reaches the broker through it;
 * `listening: false` starts it cut (the broker is unreachable until `restore()`).
 */
export async function startBrokerProxy(
  options: { listening?: boolean } = {},
): Promise<{ proxy: TcpProxy; url: string }> {
  const target = new URL(AMQP_URL);
  const proxy = new TcpProxy(target.hostname, Number(target.port || 5672));
  const port = await proxy.start();
  if (options.listening === false) await proxy.cut();
  return { proxy, url: `amqp://${target.username}:${target.password}@127.0.0.1:${port}${target.pathname}` };
}
