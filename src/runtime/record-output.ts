import type { OutgoingRecord } from '../transport/transport.ts';
import type { Lineage } from './lineage.ts';

/**
 * Where topic sinks and the dead-letter queue write. An implementation releases `lineage` once the
 * record is safely on its way (acknowledged by the log, or part of the transaction that will commit
 * the input offsets), and calls `onError` instead when the record can never be written.
 */
export interface RecordOutput {
  write(record: OutgoingRecord, lineage: Lineage, onError: (error: Error) => void): void;
  /** Resolves when everything written so far was acknowledged or failed. */
  flush(): Promise<void>;
  close(): Promise<void>;
}
