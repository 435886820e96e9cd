/**
 * Summarises a V8 `.cpuprofile` (`node --cpu-prof`): the functions with the most self time, and
 * self time grouped by package or source folder. `tsx bench/profile-summary.ts <file> [top]`.
 */
import { readFileSync } from 'node:fs';

interface ProfileNode {
  readonly id: number;
  readonly callFrame: { readonly functionName: string; readonly url: string; readonly lineNumber: number };
  readonly children?: readonly number[];
}
interface CpuProfile {
  readonly nodes: readonly ProfileNode[];
  readonly samples: readonly number[];
  readonly timeDeltas: readonly number[];
  readonly startTime: number;
  readonly endTime: number;
}

export interface ProfileLine {
  readonly name: string;
  readonly ms: number;
  readonly percent: number;
}

/** Where a script lives, coarsely: `kafkajs/<folder>`, `src/<folder>`, `(native)`... */
function area(url: string): string {
  if (url === '') return '(native / V8)';
  const modules = /node_modules\/((?:@[^/]+\/)?[^/]+)\/(?:src\/)?([^/]+)?/.exec(url);
  if (modules) return modules[2] !== undefined && !modules[2].includes('.') ? `${modules[1]}/${modules[2]}` : (modules[1] as string);
  const own = /\/(src|topologies|bench)\/([^/]+)/.exec(url);
  if (own) return `${own[1]}/${own[2]}`;
  if (url.startsWith('node:')) return url;
  return url.replace(/^file:\/\//, '');
}

export function summarise(profile: CpuProfile, top = 25): { total: number; functions: ProfileLine[]; areas: ProfileLine[] } {
  const self = new Map<number, number>();
  for (let i = 0; i < profile.samples.length; i++) {
    const id = profile.samples[i] as number;
    self.set(id, (self.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0) / 1000);
  }
  const total = [...self.values()].reduce((sum, ms) => sum + ms, 0);
  const byFunction = new Map<string, number>();
  const byArea = new Map<string, number>();
  for (const node of profile.nodes) {
    const ms = self.get(node.id) ?? 0;
    if (ms === 0) continue;
    const { functionName, url, lineNumber } = node.callFrame;
    if (functionName === '(idle)' || functionName === '(program)' || functionName === '(garbage collector)') {
      byFunction.set(functionName, (byFunction.get(functionName) ?? 0) + ms);
      byArea.set(functionName, (byArea.get(functionName) ?? 0) + ms);
      continue;
    }
    const key = `${functionName || '(anonymous)'} ${url.replace(/^.*node_modules\//, '').replace(/^file:\/\/.*?\/(src|topologies|bench)\//, '$1/')}:${lineNumber + 1}`;
    byFunction.set(key, (byFunction.get(key) ?? 0) + ms);
    byArea.set(area(url), (byArea.get(area(url)) ?? 0) + ms);
  }
  const lines = (map: Map<string, number>) =>
    [...map]
      .sort((a, b) => b[1] - a[1])
      .slice(0, top)
      .map(([name, ms]) => ({ name, ms: Math.round(ms), percent: Math.round((ms / total) * 1000) / 10 }));
  return { total: Math.round(total), functions: lines(byFunction), areas: lines(byArea) };
}

if (process.argv[1]?.endsWith('profile-summary.ts')) {
  const [file, top] = process.argv.slice(2);
  if (file === undefined) throw new Error('usage: tsx bench/profile-summary.ts <file.cpuprofile> [top]');
  const summary = summarise(JSON.parse(readFileSync(file, 'utf8')) as CpuProfile, Number(top ?? 25));
  process.stdout.write(`total ${summary.total} ms sampled\n\nself time by area:\n`);
  for (const line of summary.areas) process.stdout.write(`${String(line.percent).padStart(5)}%  ${String(line.ms).padStart(6)} ms  ${line.name}\n`);
  process.stdout.write('\nself time by function:\n');
  for (const line of summary.functions) process.stdout.write(`${String(line.percent).padStart(5)}%  ${String(line.ms).padStart(6)} ms  ${line.name}\n`);
}
