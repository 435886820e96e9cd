export { ERROR_CODES, type ErrorCode } from './codes.ts';
export * from './streams-error.ts';
export * from './dead-letter.ts';
export { redactSecrets, safeError, type SafeError } from './redact.ts';
