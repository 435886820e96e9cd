import { MemoryTransport } from '../../../src/index.ts';
import { defineSeekConformance } from '../../conformance/seek-scenarios.ts';

defineSeekConformance('memory', () => new MemoryTransport());
