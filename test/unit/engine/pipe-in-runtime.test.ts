import { MemoryTransport } from '../../../src/index.ts';
import { definePipeRuntimeScenarios } from '../../conformance/pipe-runtime-scenarios.ts';

definePipeRuntimeScenarios('memory', () => new MemoryTransport());
