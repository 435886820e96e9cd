/** kafkajs request instrumentation in the transport's own shape, for metrics. */
import type { RequestEvent } from 'kafkajs';
import type { KafkaRequestEvent } from './options.ts';

/**
 * A kafkajs `*.network.request` listener that forwards to `onRequest`; a throwing listener is
 * contained so that metrics can never break a client.
 */
export function requestListener(
  client: KafkaRequestEvent['client'],
  onRequest: (event: KafkaRequestEvent) => void,
): (event: RequestEvent) => void {
  return ({ payload }) => {
    try {
      onRequest({
        client,
        clientId: payload.clientId,
        apiName: payload.apiName,
        broker: payload.broker,
        durationMs: payload.duration,
      });
    } catch {
      // Instrumentation is best effort by design.
    }
  };
}
