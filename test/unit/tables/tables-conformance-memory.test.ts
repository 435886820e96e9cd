import { MemoryTransport } from '../../../src/transport/memory/index.ts';
import { defineTableConformance } from '../../conformance/table-scenarios.ts';

defineTableConformance('memory', () => ({ transport: new MemoryTransport(), profiles: 20_000 }));
