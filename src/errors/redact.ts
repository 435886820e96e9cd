/**
 * Removes secrets from text that may reach logs, errors, metrics or dead-letter headers: bearer
 * tokens, passwords in URLs and `key=value` pairs whose key looks secret.
 */
const PATTERNS: ReadonlyArray<readonly [RegExp, string]> = [
  [/(bearer\s+)[A-Za-z0-9._~+/=-]+/gi, '$1[REDACTED]'],
  [/(basic\s+)[A-Za-z0-9+/=]+/gi, '$1[REDACTED]'],
  [/([a-z][a-z0-9+.-]*:\/\/[^:/@\s]+:)[^@/\s]+@/gi, '$1[REDACTED]@'],
  [/((?:password|passwd|pwd|secret|token|api[_-]?key|apikey)["']?\s*[:=]\s*["']?)[^\s"'&,;}]+/gi, '$1[REDACTED]'],
];

/** Every pattern above needs one of these: text without any (most messages and stacks) is left alone at once. */
const SUSPECT = /bearer|basic|@|password|passwd|pwd|secret|token|api[_-]?key|apikey/i;

export function redactSecrets(text: string, extraSecrets: readonly string[] = []): string {
  let out = text;
  for (const secret of extraSecrets) {
    if (secret.length >= 4 && out.includes(secret)) out = out.split(secret).join('[REDACTED]');
  }
  if (!SUSPECT.test(out)) return out;
  for (const [pattern, replacement] of PATTERNS) out = out.replace(pattern, replacement);
  return out;
}

export interface SafeError {
  readonly type: string;
  readonly code?: string;
  readonly message: string;
  readonly stack?: string;
  readonly cause?: SafeError;
}

/**
 * An error as plain, loggable data: name, code, message, stack and cause, scrubbed. Other
 * properties are left out on purpose: HTTP client errors carry their request config, headers
 * (Authorization) included.
 */
export function safeError(error: unknown, extraSecrets: readonly string[] = [], depth = 0): SafeError {
  if (!(error instanceof Error)) return { type: typeof error, message: redactSecrets(String(error), extraSecrets) };
  const code = (error as { code?: unknown }).code;
  return {
    type: error.name,
    ...(typeof code === 'string' ? { code } : {}),
    message: redactSecrets(error.message, extraSecrets),
    ...(error.stack ? { stack: redactSecrets(error.stack, extraSecrets) } : {}),
    ...(error.cause !== undefined && depth < 3 ? { cause: safeError(error.cause, extraSecrets, depth + 1) } : {}),
  };
}
