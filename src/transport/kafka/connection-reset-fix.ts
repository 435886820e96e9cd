/**
 * A fix for kafkajs 2.2.4: a `Connection` keeps its receive buffer (the partial response frame it
 * was assembling) across reconnects. When a connection is reset in the middle of a response, the
 * next socket's bytes are appended to that stale fragment and mis-framed: requests then wait for
 * bytes that never come (a consumer that silently stops fetching), or decoding throws an uncaught
 * `RangeError [ERR_BUFFER_OUT_OF_BOUNDS]` from a socket handler and kills the process. Found with
 * `test/support/tcp-proxy.ts` resetting connections under load.
 *
 * The fix starts every new socket with an empty buffer, as a fresh connection does. It wraps one
 * method of kafkajs' internal `Connection` class; if a kafkajs release changes that shape, nothing
 * is patched and `installed()` says so (the transport logs a warning).
 */
import { createRequire } from 'node:module';

interface ConnectionInternals {
  chunks: Buffer[];
  bytesBuffered: number;
  bytesNeeded: number;
  isConnected(): boolean;
  connect(): Promise<boolean>;
}

let state: 'untried' | 'installed' | 'unavailable' = 'untried';

/** Patches kafkajs' Connection once per process; returns whether the fix is in place. */
export function installConnectionResetFix(): boolean {
  if (state !== 'untried') return state === 'installed';
  state = 'unavailable';
  try {
    const require = createRequire(import.meta.url);
    const Connection = require('kafkajs/src/network/connection.js') as { prototype?: Partial<ConnectionInternals> };
    const proto = Connection.prototype;
    const original = proto?.connect;
    if (proto === undefined || typeof original !== 'function' || typeof proto.isConnected !== 'function') return false;
    proto.connect = function connect(this: ConnectionInternals): Promise<boolean> {
      if (!this.isConnected() && Array.isArray(this.chunks)) {
        // 4 bytes: the length prefix of the next response, as the constructor starts.
        this.chunks = [];
        this.bytesBuffered = 0;
        this.bytesNeeded = 4;
      }
      return original.call(this);
    };
    state = 'installed';
  } catch {
    state = 'unavailable';
  }
  return state === 'installed';
}
