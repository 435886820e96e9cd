/**
 * A small Dockerfile reader (instructions per stage, line continuations, comments) and the rules
 * docker/Dockerfile must follow; plus a .dockerignore matcher for the patterns we use.
 */
import { CLI, isPinnedImage } from './repo.ts';

export interface Instruction {
  readonly keyword: string;
  readonly args: string;
}

export interface Stage {
  readonly image: string;
  readonly name: string | undefined;
  readonly instructions: readonly Instruction[];
}

export interface Dockerfile {
  /** ARGs before the first FROM: the only ones FROM lines can use. */
  readonly globalArgs: ReadonlyMap<string, string | undefined>;
  readonly stages: readonly Stage[];
}

/** Joins `\`-continued lines, drops comments (parser directives included) and blank lines. */
function logicalLines(text: string): string[] {
  const out: string[] = [];
  let pending = '';
  for (const raw of text.split(/\r?\n/)) {
    const line = raw.trim();
    if (line.startsWith('#') || (line === '' && pending === '')) continue;
    if (line.endsWith('\\')) {
      pending += `${line.slice(0, -1)} `;
      continue;
    }
    out.push(pending + line);
    pending = '';
  }
  if (pending !== '') out.push(pending);
  return out.filter((l) => l.trim() !== '');
}

export function parseDockerfile(text: string): Dockerfile {
  const globalArgs = new Map<string, string | undefined>();
  const stages: { image: string; name: string | undefined; instructions: Instruction[] }[] = [];
  for (const line of logicalLines(text)) {
    const match = /^(\S+)\s*(.*)$/.exec(line);
    if (match === null) continue;
    const keyword = (match[1] ?? '').toUpperCase();
    const args = match[2] ?? '';
    if (keyword === 'FROM') {
      const from = /^(?:--platform=\S+\s+)?(\S+)(?:\s+AS\s+(\S+))?$/i.exec(args);
      stages.push({ image: from?.[1] ?? args, name: from?.[2], instructions: [] });
    } else if (stages.length === 0) {
      if (keyword === 'ARG') for (const [key, value] of argPairs(args)) globalArgs.set(key, value);
    } else {
      stages.at(-1)?.instructions.push({ keyword, args });
    }
  }
  return { globalArgs, stages };
}

/** `ARG A=1 B` → [[A, '1'], [B, undefined]]. */
function argPairs(args: string): [string, string | undefined][] {
  return args.split(/\s+/).filter(Boolean).map((part) => {
    const eq = part.indexOf('=');
    return eq < 0 ? [part, undefined] : [part.slice(0, eq), part.slice(eq + 1).replace(/^"(.*)"$/, '$1')];
  });
}

/** `ENV A=1 B=2` or the old `ENV A 1` → the variable names. */
function envNames(args: string): string[] {
  if (!/^[A-Za-z_][A-Za-z0-9_]*=/.test(args)) return [args.split(/\s+/)[0] ?? ''];
  return [...args.matchAll(/(?:^|\s)([A-Za-z_][A-Za-z0-9_]*)=/g)].map((m) => m[1] ?? '');
}

const SECRET_NAME = /SECRET|TOKEN|PASSWORD|PASSWD|API_?KEY|PRIVATE|CREDENTIAL|DATABASE_URL/i;

const resolveArgs = (value: string, args: ReadonlyMap<string, string | undefined>) =>
  value.replace(/\$\{(\w+)\}|\$(\w+)/g, (whole, a: string | undefined, b: string | undefined) => args.get(a ?? b ?? '') ?? whole);

/** A COPY/ADD's options and sources (the last word is the destination). */
export function copySources(args: string): { from: string | undefined; sources: string[] } {
  const words = args.startsWith('[') ? (JSON.parse(args) as string[]) : args.split(/\s+/).filter(Boolean);
  const options = words.filter((w) => w.startsWith('--'));
  const paths = words.filter((w) => !w.startsWith('--'));
  const from = options.find((o) => o.startsWith('--from='))?.slice('--from='.length);
  return { from, sources: paths.slice(0, -1) };
}

/** The rules for the project's image; returns the violations (empty: compliant). */
export function dockerfileViolations(text: string): string[] {
  const { globalArgs, stages } = parseDockerfile(text);
  const out: string[] = [];
  const final = stages.at(-1);
  if (stages.length < 2 || final === undefined) out.push('not a multi-stage build');
  const names = new Set<string>();
  for (const stage of stages) {
    const image = resolveArgs(stage.image, globalArgs);
    if (!names.has(image) && !isPinnedImage(image)) out.push(`FROM ${image}: base image not pinned to a version`);
    if (stage.name !== undefined) names.add(stage.name);
    for (const { keyword, args } of stage.instructions) {
      const declared = keyword === 'ENV' ? envNames(args) : keyword === 'ARG' ? argPairs(args).map(([k]) => k) : [];
      for (const name of declared) if (SECRET_NAME.test(name)) out.push(`${keyword} ${name}: a secret-looking name in a layer`);
      if (keyword === 'RUN' && /\bnpm\s+(install|i|add)\b/.test(args)) out.push(`RUN ${args}: use npm ci (the lockfile), not npm install`);
    }
  }
  for (const [name] of globalArgs) if (SECRET_NAME.test(name)) out.push(`ARG ${name}: a secret-looking name in a layer`);
  if (!stages.some((s) => s.instructions.some((i) => i.keyword === 'RUN' && /\bnpm\s+ci\b/.test(i.args)))) out.push('no RUN npm ci');
  if (final === undefined) return out;

  const last = (keyword: string) => final.instructions.filter((i) => i.keyword === keyword).at(-1);
  const user = last('USER')?.args.split(':')[0];
  if (user === undefined || user === 'root' || user === '0') out.push(`final stage runs as ${user ?? 'root (no USER)'}`);
  const healthcheck = last('HEALTHCHECK')?.args;
  if (healthcheck === undefined || /^NONE\b/i.test(healthcheck)) out.push('final stage has no HEALTHCHECK');
  else if (!healthcheck.includes('/healthz') || !healthcheck.includes('OPS_PORT')) out.push('HEALTHCHECK does not call /healthz on OPS_PORT');
  const entrypoint = last('ENTRYPOINT')?.args;
  if (entrypoint === undefined || JSON.stringify(JSON.parse(entrypoint.startsWith('[') ? entrypoint : '[]')) !== JSON.stringify(CLI)) out.push(`ENTRYPOINT is not ${JSON.stringify(CLI)}`);

  // Runtime stage: dependencies only from a production install, nothing from the context but the manifest.
  for (const { keyword, args } of final.instructions) {
    if (keyword === 'RUN' && /\bnpm\s+ci\b/.test(args) && !args.includes('--omit=dev')) out.push('final stage installs dev dependencies');
    if (keyword !== 'COPY' && keyword !== 'ADD') continue;
    const { from, sources } = copySources(args);
    if (from === undefined) {
      for (const source of sources) if (!/^package(-lock)?\.json$/.test(source)) out.push(`final stage copies ${source} from the build context`);
      continue;
    }
    if (sources.some((s) => s.includes('node_modules'))) {
      const producer = stages.find((s) => s.name === from);
      const prodInstall = producer?.instructions.some((i) => i.keyword === 'RUN' && /\bnpm\s+ci\b/.test(i.args) && i.args.includes('--omit=dev')) ?? false;
      if (!prodInstall) out.push(`final stage copies node_modules from ${from}, which is not an npm ci --omit=dev stage`);
    }
  }
  const copiesDeps = final.instructions.some((i) => (i.keyword === 'COPY' && copySources(i.args).sources.some((s) => s.includes('node_modules'))) || (i.keyword === 'RUN' && i.args.includes('--omit=dev')));
  if (!copiesDeps) out.push('final stage has no production dependencies');
  return out;
}

/** Whether `.dockerignore` patterns exclude a context path (no `!` exceptions: they are refused). */
export function isDockerIgnored(patterns: readonly string[], path: string): boolean {
  return patterns.some((pattern) => {
    if (pattern.startsWith('!')) throw new Error(`exceptions are not supported by this matcher: ${pattern}`);
    const body = pattern
      .replace(/^\/+|\/+$/g, '')
      .split('/')
      .map((part) => (part === '**' ? '(?:.*/)?' : `${part.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '[^/]*').replace(/\?/g, '[^/]')}/`))
      .join('');
    // A pattern that matches a directory excludes everything under it.
    return new RegExp(`^${body.replace(/\/$/, '')}(?:/.*)?$`).test(path);
  });
}

export function dockerignorePatterns(text: string): string[] {
  return text
    .split(/\r?\n/)
    .map((l) => l.trim())
    .filter((l) => l !== '' && !l.startsWith('#'));
}
