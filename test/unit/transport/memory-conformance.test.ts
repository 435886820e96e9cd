import { MemoryTransport } from '../../../src/transport/memory/index.ts';
import { defineTransportConformance } from '../../conformance/transport-scenarios.ts';

defineTransportConformance('memory', () => ({
  // Errors thrown on purpose by the scenarios' handlers are expected; keep the output quiet.
  transport: new MemoryTransport({ retryBackoffMs: 10, onError: () => undefined, missingTopicWaitMs: 300 }),
  // Memory enforces no minimum session (Kafka's is 6 s), so the eviction scenarios can run fast.
  minSessionTimeoutMs: 1_000,
}));
