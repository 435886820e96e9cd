/**
 * Hostile review: ordinary ordering behaviour of a list API against the REST poller's promise
 * "every item reaches Kafka once" (src/connectors/rest-poller.ts header).
 */
import { afterEach, describe, expect, it } from 'vitest';
import { RestPoller, type RestPollerOptions } from '../../../src/connectors/rest-poller.ts';
import { MemoryTransport } from '../../../src/transport/memory/index.ts';
import { emittedIds, json, pageOf, pollerOptions, rawApi, sleep, until, type Item } from './ingest-helpers.ts';

describe('review: ordering', () => {
  const cleanups: Array<() => Promise<void>> = [];
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup().catch(() => undefined);
  });

  async function setup(api: ReturnType<typeof rawApi>, extra: Partial<RestPollerOptions> = {}) {
    const transport = new MemoryTransport();
    transport.broker.createTopic({ topic: 'out', partitions: 1 });
    const url = await api.start();
    cleanups.push(() => api.stop());
    const poller = new RestPoller(pollerOptions(transport, url, extra));
    cleanups.push(() => poller.stop());
    return { transport, poller, url };
  }

  it('items without a cursor filling a whole page do not stall the poller', async () => {
    // Expected: "An item without a usable place in the order ... never moves the cursor; its id is
    // remembered instead" AND "every item reaches Kafka once". With pageSize 3 and four invalid items
    // in a row (the simulator serves invalid ratings at their slot, so a run of them is ordinary with
    // a high invalid rate), a poller that keeps its cursor asks for the same page forever and never
    // reaches the valid items behind the run.
    const items: Item[] = [
      { id: 'a1', timestamp: 1 },
      { id: 'x2', timestamp: 2 },
      { id: 'x3', timestamp: 3 },
      { id: 'x4', timestamp: 4 },
      { id: 'x5', timestamp: 5 },
      { id: 'a6', timestamp: 6 },
      { id: 'a7', timestamp: 7 },
    ];
    const api = rawApi((request, response) => json(response, pageOf(items, request)));
    const { transport, poller } = await setup(api, {
      pageSize: 3,
      cursorOf: (item) => ((item as Item).id.startsWith('x') ? undefined : { timestamp: (item as Item).timestamp, id: (item as Item).id }),
    });
    await poller.start();
    await until(() => api.requests.length >= 20, 'twenty polls');
    await sleep(100);
    expect(emittedIds(transport)).toEqual(items.map((item) => item.id));
    // And it is stuck, not slow: the last requests all ask for the same position.
    expect(poller.position?.id).toBe('a7');
  });

  it('ids that do not sort as strings (r9 < r10 in the API order) are not lost at a page boundary', async () => {
    // Expected: the cursor is "(timestamp, id) in the API's sort order" and "every item reaches Kafka
    // once". An API whose ids are numeric-suffixed sorts r9 before r10 within one timestamp; the
    // poller compares ids as plain strings ('r10' < 'r9'), so after emitting r9 it drops r10..r12 as
    // "at or before" the cursor.
    const numeric = (a: string, b: string) => Number(a.slice(1)) - Number(b.slice(1));
    const items: Item[] = Array.from({ length: 13 }, (_, i) => ({ id: `r${i}`, timestamp: 1_000 }));
    const api = rawApi((request, response) => json(response, pageOf(items, request, numeric)));
    const { transport, poller } = await setup(api, { pageSize: 10 });
    await poller.start();
    await until(() => api.requests.length >= 5, 'a few polls');
    await sleep(100);
    expect(emittedIds(transport)).toEqual(items.map((item) => item.id));
  });

  it('a page whose items are out of (timestamp, id) order loses none of them', async () => {
    // Expected: "Items at or before it [the cursor] are dropped, also when a page overlaps the previous
    // one or repeats an item" — only repeats are dropped; a page served newest-first (an ordinary API
    // quirk) must not lose items, nor make the cursor go backwards and re-emit.
    const items: Item[] = Array.from({ length: 6 }, (_, i) => ({ id: `r${i}`, timestamp: 100 + i }));
    const api = rawApi((request, response) => json(response, [...pageOf(items, request)].reverse()));
    const { transport, poller } = await setup(api, { pageSize: 3 });
    await poller.start();
    await until(() => api.requests.length >= 6, 'a few polls');
    await sleep(100);
    expect([...emittedIds(transport)].sort()).toEqual(items.map((item) => item.id));
  });

  it('a rating re-served later with a changed timestamp is not emitted twice', async () => {
    // Expected: "every item reaches Kafka once" / "every rating reaches Kafka once" (topologies/openclaw-ingest.ts):
    // an edited rating that the API re-sorts under a newer timestamp is the same item (same id).
    let items: Item[] = [{ id: 'r1', timestamp: 10 }, { id: 'r2', timestamp: 20 }];
    const api = rawApi((request, response) => json(response, pageOf(items, request)));
    const { transport, poller } = await setup(api);
    await poller.start();
    await until(() => emittedIds(transport).length >= 2, 'the first two');
    items = [{ id: 'r2', timestamp: 20 }, { id: 'r1', timestamp: 30 }, { id: 'r3', timestamp: 40 }];
    await until(() => emittedIds(transport).includes('r3'), 'r3');
    await sleep(100);
    expect(emittedIds(transport)).toEqual(['r1', 'r2', 'r3']);
  });
});
