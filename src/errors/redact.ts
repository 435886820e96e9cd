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

export function redactSecrets(text: string, extraSecrets: readonly string[] = []): string {
  let out = text;
  for (const secret of extraSecrets) {
    if (secret.length >= 4) out = out.split(secret).join('[REDACTED]');
  }
  for (const [pattern, replacement] of PATTERNS) out = out.replace(pattern, replacement);
  return out;
}
