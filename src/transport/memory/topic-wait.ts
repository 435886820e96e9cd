import type { MemoryBroker } from './memory-broker.ts';

/**
 * Waits until every topic exists, or `timeoutMs` passed; resolves with the ones still missing.
 * kafkajs answers a send to an unknown topic by refreshing metadata with back-off until its retries
 * run out (about 8 to 11 s with the transport's defaults), so a topic created meanwhile is written.
 * This is that wait, woken by the creation itself instead of polling.
 */
export function awaitTopics(broker: MemoryBroker, topics: Iterable<string>, timeoutMs: number): Promise<string[]> {
  const missing = new Set([...topics].filter((topic) => !broker.hasTopic(topic)));
  if (missing.size === 0 || timeoutMs <= 0) return Promise.resolve([...missing]);
  return new Promise((resolve) => {
    const finish = (): void => {
      clearTimeout(timer);
      stop();
      resolve([...missing]);
    };
    const stop = broker.onTopicCreated((topic) => {
      missing.delete(topic);
      if (missing.size === 0) finish();
    });
    const timer = setTimeout(finish, timeoutMs);
  });
}
