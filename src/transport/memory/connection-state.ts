import { TransportError } from '../../errors/streams-error.ts';

/**
 * Connected-or-not bookkeeping shared by the memory clients. They refuse work before `connect` and
 * after `disconnect` because kafkajs clients do, and a runtime that forgets to connect should fail
 * in memory tests rather than first on a real broker.
 */
export class ConnectionState {
  private state: 'new' | 'connected' | 'closed' = 'new';

  constructor(private readonly client: string) {}

  get connected(): boolean {
    return this.state === 'connected';
  }

  connect(): void {
    if (this.state === 'closed') throw new TransportError(`${this.client} was disconnected; create a new one`, { code: 'TRANSPORT_CLOSED' });
    this.state = 'connected';
  }

  close(): void {
    this.state = 'closed';
  }

  /** Throws the error a caller gets for using a client that is not connected. */
  assertConnected(operation: string): void {
    if (this.state !== 'connected') {
      throw new TransportError(`cannot ${operation}: the ${this.client} is ${this.state === 'new' ? 'not connected yet' : 'disconnected'}`, {
        code: 'TRANSPORT_CLOSED',
      });
    }
  }
}
