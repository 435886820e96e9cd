/**
 * What connectors report as they work, on `node:diagnostics_channel` (channel
 * `rating-streams.connectors`): each HTTP sink attempt and each change of a sink's circuit. Like the
 * runtime's channel, publishing costs a property check when nobody subscribes; metrics subscribe.
 *
 * Events name the sink and never carry its URL, headers or body: they may hold credentials.
 */
import diagnostics from 'node:diagnostics_channel';
import type { HttpCircuitState } from './http-sink.ts';

export const CONNECTOR_CHANNEL = 'rating-streams.connectors';

export type ConnectorEvent =
  /** One HTTP sink attempt: the answer's status, or `network` / `timeout` when there was none. */
  | { readonly type: 'http.request'; readonly sink: string; readonly status: string; readonly durationMs: number }
  | { readonly type: 'http.circuit'; readonly sink: string; readonly state: HttpCircuitState };

const channel = diagnostics.channel(CONNECTOR_CHANNEL);

/** True when someone listens; check it before measuring anything for an event. */
export function connectorInstrumentationEnabled(): boolean {
  return channel.hasSubscribers;
}

export function publishConnectorEvent(event: ConnectorEvent): void {
  if (channel.hasSubscribers) channel.publish(event);
}

/** Calls `listener` with every connector event in this process; returns the unsubscribe. */
export function subscribeConnectorEvents(listener: (event: ConnectorEvent) => void): () => void {
  const handler = (message: unknown) => listener(message as ConnectorEvent);
  diagnostics.subscribe(CONNECTOR_CHANNEL, handler);
  return () => {
    diagnostics.unsubscribe(CONNECTOR_CHANNEL, handler);
  };
}
