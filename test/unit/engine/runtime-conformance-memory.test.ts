import { MemoryTransport } from '../../../src/transport/memory/index.ts';
import { defineRuntimeConformance } from '../../conformance/runtime-scenarios.ts';

defineRuntimeConformance('memory', () => ({ transport: new MemoryTransport() }));
