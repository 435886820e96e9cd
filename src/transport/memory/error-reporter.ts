/** Which user callback failed inside a memory consumer. */
export interface MemoryErrorContext {
  readonly groupId: string;
  readonly during: 'eachBatch' | 'onAssigned' | 'onRevoked' | 'onPosition';
  readonly topic?: string;
  readonly partition?: number;
}

/**
 * Receives errors thrown by user callbacks. The consumer never lets them escape (a rejected batch is
 * re-delivered, a failing hook must not wedge the group), so this is the one place they surface.
 */
export type MemoryErrorReporter = (error: unknown, context: MemoryErrorContext) => void;

/** Default reporter: a process warning, visible without a logger and silent when nothing fails. */
export const warnOnError: MemoryErrorReporter = (error, context) => {
  const where = context.topic === undefined ? '' : ` for ${context.topic}:${context.partition}`;
  const message = error instanceof Error ? error.message : String(error);
  process.emitWarning(`memory consumer of group ${context.groupId}: ${context.during} failed${where}: ${message}`, { code: 'MEMORY_TRANSPORT_CALLBACK_FAILED' });
};
