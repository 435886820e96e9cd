/**
 * Global tables: every instance reads every partition of each global table's topic into its store,
 * with a consumer of its own (group `<applicationId>-global-<instanceId>`, never committed, so each
 * start reads the topics from the beginning). `start()` resolves once every partition reached the
 * end offset it had when reading began; updates keep being applied afterwards.
 */
import { StreamsError, toError } from '../errors/streams-error.ts';
import type { GlobalTableNode } from '../topology/graph.ts';
import type { Topology } from '../topology/topology.ts';
import type { Transport, TransportConsumer } from '../transport/transport.ts';
import type { Logger } from './logger.ts';
import { Restoration } from './restoration.ts';
import { GLOBAL, type StateStores, type StoreHandle } from './state-stores.ts';

export interface GlobalTablesOptions {
  readonly app: string;
  readonly instanceId: string;
  readonly topology: Topology;
  readonly transport: Transport;
  readonly stores: StateStores;
  readonly logger: Logger;
  readonly consumer?: { readonly sessionTimeoutMs?: number; readonly heartbeatIntervalMs?: number; readonly rebalanceTimeoutMs?: number };
  /** A store write failed, or the consumer stopped for good: the app cannot go on. */
  readonly onFatal: (error: Error) => void;
}

export class GlobalTables {
  private consumer: TransportConsumer | undefined;
  readonly restoration: Restoration;
  private readonly nodes: GlobalTableNode[];

  constructor(private readonly options: GlobalTablesOptions) {
    this.restoration = new Restoration(options.app);
    this.nodes = options.topology.nodes.filter((node): node is GlobalTableNode => node.kind === 'globalTable');
  }

  get enabled(): boolean {
    return this.nodes.length > 0;
  }

  /** Opens the stores, reads the topics' end offsets, and starts reading; resolves once restored. */
  async start(): Promise<void> {
    if (!this.enabled) return;
    const { transport, stores, app, instanceId } = this.options;
    const byTopic = new Map<string, StoreHandle>();
    for (const node of this.nodes) {
      const handle = stores.open(node.store.name, GLOBAL);
      await handle.ready;
      byTopic.set(node.topic, handle);
    }
    const admin = transport.admin();
    await admin.connect();
    try {
      for (const [topic, handle] of byTopic) {
        for (const [partition, end] of await admin.endOffsets(topic)) this.restoration.begin({ topic, partition }, handle.name, end);
      }
    } finally {
      await admin.disconnect().catch(() => undefined);
    }
    const consumer = transport.consumer({ groupId: `${app}-global-${instanceId}`, clientId: `${app}-global`, ...this.options.consumer });
    this.consumer = consumer;
    await consumer.connect();
    await consumer.subscribe({ topics: [...byTopic.keys()], fromBeginning: true });
    await consumer.run({
      partitionsConsumedConcurrently: 1,
      eachBatch: async (batch) => {
        const handle = byTopic.get(batch.topic);
        if (handle === undefined) return;
        for (const record of batch.records) {
          const write = stores.restore(handle, record, (error) =>
            this.options.logger.warn({ err: error, topic: record.topic, partition: record.partition, offset: record.offset }, 'global table record skipped: it cannot be decoded'),
          );
          write?.catch((error: unknown) => this.options.onFatal(new StreamsError(`global table store ${handle.name}: a write failed: ${toError(error).message}`, { code: 'TOPOLOGY_INVALID', cause: error })));
        }
        this.restoration.advance(batch, batch.nextOffset);
      },
      onPosition: (tp, nextOffset) => this.restoration.advance(tp, nextOffset),
      onStopped: (error) => this.options.onFatal(new StreamsError(`the global table consumer stopped for good: ${error.message}`, { code: 'TRANSPORT_CLOSED', cause: error })),
    });
    await this.restoration.whenDone();
  }

  async stop(): Promise<void> {
    const consumer = this.consumer;
    this.consumer = undefined;
    await consumer?.disconnect().catch((error: unknown) => this.options.logger.warn({ err: toError(error) }, 'global table consumer disconnect failed'));
  }
}
