/**
 * A fault-injecting TCP proxy on 127.0.0.1 for tests: Kafka clients talk to the broker through it
 * (route every broker address to `proxy.address` with the transport's `routeBroker` option, or
 * `kafkaSocketFactory` for plain kafkajs clients), and a test can stall, delay or drop their
 * connections at the moment it chooses.
 *
 * It reads the Kafka request framing of the client side (size, API key, API version, correlation
 * id, client id), so a test can cut only, say, the consumer's connections (`cut(c => c.clientId ===
 * ...)`), or wait for the moment a client sends a Heartbeat.
 *
 * @example
 * const proxy = await TcpProxy.start({ host: '127.0.0.1', port: 9092 });
 * const transport = new KafkaTransport({ brokers: ['127.0.0.1:9092'], routeBroker: () => proxy.address });
 * proxy.pause();           // a network stall: connections stay open, nothing moves
 * proxy.resume();
 * proxy.cut((c) => c.clientId === 'app-consumer'); // a dropped connection (RST)
 */
import { EventEmitter } from 'node:events';
import { connect, createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import type { ISocketFactory } from 'kafkajs';

/** Kafka API keys a test may want to match on. */
export const KAFKA_API = { Produce: 0, Fetch: 1, OffsetCommit: 8, JoinGroup: 11, Heartbeat: 12, SyncGroup: 14, AddOffsetsToTxn: 25, EndTxn: 26, TxnOffsetCommit: 28 } as const;

/** What the proxy knows about one proxied connection. */
export interface ProxiedConnection {
  readonly id: number;
  /** The client id of the first request, once it arrived. */
  readonly clientId: string | undefined;
  /** API keys of every request sent on this connection so far. */
  readonly apiKeys: ReadonlySet<number>;
  readonly bytesUp: number;
  readonly bytesDown: number;
  readonly open: boolean;
}

/** A request frame the client side sent, as the proxy saw it. */
export interface ProxiedRequest {
  readonly connection: ProxiedConnection;
  readonly apiKey: number;
  readonly apiVersion: number;
  readonly correlationId: number;
}

interface ProxyEvents {
  request: [ProxiedRequest];
  /** Bytes a paused proxy holds back: the moment a stall really bites. */
  held: [ProxiedConnection, 'up' | 'down'];
  closed: [ProxiedConnection];
}

type Direction = 'up' | 'down';

class Connection implements ProxiedConnection {
  clientId: string | undefined;
  readonly apiKeys = new Set<number>();
  bytesUp = 0;
  bytesDown = 0;
  open = true;
  /** Bytes of a request header not yet complete (frames may split anywhere). */
  private header: Buffer = Buffer.alloc(0);
  /** Bytes of the current request frame still to pass before the next header starts. */
  private frameLeft = 0;
  private readonly held: Record<Direction, Buffer[]> = { up: [], down: [] };
  /** When the last chunk of each direction is due, so delayed chunks keep their order. */
  private readonly due: Record<Direction, number> = { up: 0, down: 0 };

  constructor(
    readonly id: number,
    readonly client: Socket,
    readonly upstream: Socket,
    private readonly proxy: TcpProxy,
  ) {}

  /** Reads request headers out of the client stream: `size:int32 apiKey:int16 apiVersion:int16 correlationId:int32 clientId:string16`. */
  parseRequests(chunk: Buffer): ProxiedRequest[] {
    const requests: ProxiedRequest[] = [];
    let rest = chunk;
    while (rest.length > 0) {
      if (this.frameLeft > 0) {
        const skip = Math.min(this.frameLeft, rest.length);
        this.frameLeft -= skip;
        rest = rest.subarray(skip);
        continue;
      }
      this.header = Buffer.concat([this.header, rest]);
      if (this.header.length < 14) break;
      const size = this.header.readInt32BE(0);
      const clientIdLength = this.header.readInt16BE(12);
      const headerLength = 14 + Math.max(0, clientIdLength);
      if (this.header.length < headerLength) break;
      const apiKey = this.header.readInt16BE(4);
      this.apiKeys.add(apiKey);
      if (this.clientId === undefined && clientIdLength >= 0) this.clientId = this.header.toString('utf8', 14, headerLength);
      requests.push({ connection: this, apiKey, apiVersion: this.header.readInt16BE(6), correlationId: this.header.readInt32BE(8) });
      // What was buffered past this header belongs to the frame body, or to the next frame.
      const consumed = this.header.subarray(headerLength);
      this.frameLeft = 4 + size - headerLength;
      this.header = Buffer.alloc(0);
      rest = consumed;
    }
    return requests;
  }

  forward(direction: Direction, chunk: Buffer): void {
    if (direction === 'up') this.bytesUp += chunk.length;
    else this.bytesDown += chunk.length;
    if (this.proxy.paused) {
      this.held[direction].push(chunk);
      this.proxy.emit('held', this, direction);
      return;
    }
    this.deliver(direction, chunk);
  }

  deliver(direction: Direction, chunk: Buffer): void {
    const target = direction === 'up' ? this.upstream : this.client;
    const delay = this.proxy.delayMs;
    if (delay === 0 && this.due[direction] <= Date.now()) {
      target.write(chunk);
      return;
    }
    this.due[direction] = Math.max(this.due[direction], Date.now() + delay);
    setTimeout(() => {
      if (this.open) target.write(chunk);
    }, this.due[direction] - Date.now());
  }

  release(): void {
    for (const direction of ['up', 'down'] as const) {
      const chunks = this.held[direction];
      this.held[direction] = [];
      for (const chunk of chunks) this.deliver(direction, chunk);
    }
  }

  /** Drops the connection as a network failure does: an RST to both peers, no orderly FIN. */
  reset(): void {
    if (!this.open) return;
    this.client.resetAndDestroy();
    this.upstream.resetAndDestroy();
    this.proxy.closed(this);
  }
}

export class TcpProxy extends EventEmitter<ProxyEvents> {
  paused = false;
  delayMs = 0;
  private readonly connections = new Map<number, Connection>();
  private nextId = 1;

  private constructor(
    private readonly server: Server,
    private readonly target: { readonly host: string; readonly port: number },
  ) {
    super();
    server.on('connection', (client) => this.accept(client));
  }

  /** Listens on 127.0.0.1 on a free port and forwards every connection to `target`. */
  static async start(target: { readonly host: string; readonly port: number }): Promise<TcpProxy> {
    const server = createServer();
    const proxy = new TcpProxy(server, target);
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(0, '127.0.0.1', () => resolve());
    });
    return proxy;
  }

  /** Where clients connect to reach the target through the proxy. */
  get address(): { host: string; port: number } {
    const info = this.server.address() as AddressInfo;
    return { host: info.address, port: info.port };
  }

  /** A kafkajs `socketFactory` that dials the proxy whatever broker address kafkajs asks for. */
  kafkaSocketFactory(): ISocketFactory {
    return ({ onConnect }) => connect(this.address, onConnect);
  }

  /** Connections still open, oldest first. */
  get open(): ProxiedConnection[] {
    return [...this.connections.values()].filter((connection) => connection.open);
  }

  /** Holds every byte in both directions until `resume()`; connections stay open (a network stall). */
  pause(): void {
    this.paused = true;
  }

  resume(): void {
    this.paused = false;
    for (const connection of this.connections.values()) connection.release();
  }

  /** Every chunk from now on reaches the other side `delayMs` later (order kept per direction). */
  delay(delayMs: number): void {
    this.delayMs = delayMs;
  }

  /** Resets every open connection that matches (all of them by default); returns how many. */
  cut(match: (connection: ProxiedConnection) => boolean = () => true): number {
    const victims = this.open.filter(match);
    for (const connection of victims) (connection as Connection).reset();
    return victims.length;
  }

  /** Resolves with the next request that matches, as it reaches the proxy (before it is forwarded). */
  nextRequest(match: (request: ProxiedRequest) => boolean, timeoutMs = 30_000): Promise<ProxiedRequest> {
    return new Promise((resolve, reject) => {
      const onRequest = (request: ProxiedRequest) => {
        if (!match(request)) return;
        clearTimeout(timer);
        this.off('request', onRequest);
        resolve(request);
      };
      const timer = setTimeout(() => {
        this.off('request', onRequest);
        reject(new Error(`no matching request through the proxy within ${timeoutMs} ms`));
      }, timeoutMs);
      this.on('request', onRequest);
    });
  }

  /** Resets every connection and stops listening. */
  async close(): Promise<void> {
    this.cut();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  /** @internal A connection is gone (cut, or closed by a peer); counted once. */
  closed(connection: Connection): void {
    if (!connection.open) return;
    connection.open = false;
    this.connections.delete(connection.id);
    this.emit('closed', connection);
  }

  private accept(client: Socket): void {
    const upstream = connect(this.target);
    const connection = new Connection(this.nextId++, client, upstream, this);
    this.connections.set(connection.id, connection);
    client.on('data', (chunk: Buffer) => {
      for (const request of connection.parseRequests(chunk)) this.emit('request', request);
      connection.forward('up', chunk);
    });
    upstream.on('data', (chunk: Buffer) => connection.forward('down', chunk));
    const close = () => {
      // One side gone: the other goes too, abruptly, as through a broken network path.
      client.destroy();
      upstream.destroy();
      this.closed(connection);
    };
    // Errors (ECONNRESET after a cut) are the point of this proxy, not failures of it.
    client.on('error', close);
    upstream.on('error', close);
    client.on('close', close);
    upstream.on('close', close);
  }
}
