import { MemoryTransport } from '../../../src/transport/memory/index.ts';
import { defineTransportConformance } from '../../conformance/transport-scenarios.ts';

// Errors thrown on purpose by the scenarios' handlers are expected; keep the output quiet.
defineTransportConformance('memory', () => ({ transport: new MemoryTransport({ retryBackoffMs: 10, onError: () => undefined }) }));
