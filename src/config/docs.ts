/**
 * The configuration documentation, written from `CATALOG`: the README's "Configuration" table and
 * `.env.example`. A unit test compares both files with these, so the documentation cannot drift
 * from what the processes check.
 */
import { CATALOG, type CatalogEntry } from './variables.ts';

const cell = (text: string) => text.replace(/\|/g, '\\|');

function defaultCell(entry: CatalogEntry): string {
  if (entry.defaultText !== undefined) return entry.defaultText;
  if (entry.default !== undefined) return `\`${entry.default}\``;
  return entry.required ? '(required)' : '(unset)';
}

/** The Markdown table of every variable: name, default, meaning, who reads it, whether `<NAME>_FILE` works. */
export function configurationTable(entries: readonly CatalogEntry[] = CATALOG): string {
  const rows = entries.map((entry) =>
    `| \`${entry.name}\` | ${cell(defaultCell(entry))} | ${cell(entry.meaning)}; expected: ${cell(entry.expected)} | ${cell(entry.usedBy)} | ${entry.secret ? `secret: \`${entry.name}_FILE\`` : ''} |`,
  );
  return ['| variable | default | meaning | read by | from a file |', '|---|---|---|---|---|', ...rows].join('\n');
}

/** `.env.example`: every variable, commented out at its default (or an example), with its meaning. */
export function envExample(entries: readonly CatalogEntry[] = CATALOG): string {
  const lines = [
    '# Settings of rating-streams (`rating-streams run ...`, `topics create`, `dlq ...`). Copy to .env',
    '# in the working directory and uncomment what you change; variables of the real environment win',
    '# over .env. Secrets can instead come from a file: <NAME>_FILE=/path/to/file (as Kubernetes',
    '# mounts Secrets); never commit a .env holding real secrets. See README "Configuration".',
  ];
  for (const entry of entries) {
    lines.push('', `# ${entry.meaning}.`, `# Expected: ${entry.expected}. Read by: ${entry.usedBy}.${entry.secret ? ` Secret: or ${entry.name}_FILE.` : ''}`);
    const value = entry.default ?? entry.example ?? '';
    lines.push(entry.required ? `${entry.name}=${value}` : `# ${entry.name}=${value}`);
  }
  return `${lines.join('\n')}\n`;
}
