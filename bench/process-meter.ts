/**
 * Runs one contender as a process of its own and measures it from the outside, the same way for a
 * Node.js and a Java process: wall time from spawn until the contender's consumer group has
 * committed the input's end offsets on every partition (and, when it repartitions, the end of every
 * repartition topic `<group>-...-repartition`, which it goes on draining after the input), CPU seconds (user + system of the process,
 * all threads, from /proc/<pid>/stat) and peak RSS (VmHWM from /proc/<pid>/status), both read just
 * before the process is asked to stop with SIGTERM.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { Kafka, logLevel, type Admin } from 'kafkajs';

export interface ProcessFigures {
  /** From spawn until the group committed every input offset. */
  readonly seconds: number;
  /** From the process saying RUNNING (after start-up and table restore) until done; absent if it never says so. */
  readonly processingSeconds?: number;
  readonly cpuSeconds: number;
  readonly peakRssMiB: number;
}

export interface MeteredRun {
  readonly command: string;
  readonly args: readonly string[];
  readonly env?: NodeJS.ProcessEnv;
  readonly cwd?: string;
  readonly brokers: readonly string[];
  /** The group whose committed offsets say the contender is done. */
  readonly groupId: string;
  readonly inputTopic: string;
  /**
   * Whether the contender writes its repartition topics in transactions: each of their partitions
   * then ends with a commit marker, which a committed offset may stop just short of.
   */
  readonly transactional: boolean;
  readonly timeoutMs: number;
  /** Called with each line the process writes, for logs. */
  readonly onLine?: (line: string) => void;
}

const CLOCK_TICKS = 100; // USER_HZ on Linux x86_64 and arm64

/** utime + stime of a live process, in seconds (children that were waited for are included by cutime/cstime). */
export function processCpuSeconds(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  // The command name is in parentheses and may hold spaces: fields are counted after the last ')'.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const ticks = [11, 12, 13, 14].reduce((sum, index) => sum + Number(fields[index]), 0);
  return ticks / CLOCK_TICKS;
}

/** The peak resident set size of a live process (VmHWM), in MiB. */
export function processPeakRssMiB(pid: number): number {
  const match = /^VmHWM:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return match ? Number(match[1]) / 1024 : Number.NaN;
}

const round = (value: number, digits = 1) => Math.round(value * 10 ** digits) / 10 ** digits;

function exitOf(child: ChildProcess): Promise<number | null> {
  return new Promise((resolve) => {
    if (child.exitCode !== null) resolve(child.exitCode);
    else child.once('exit', (code) => resolve(code));
  });
}

async function committedOf(admin: Admin, groupId: string, topic: string): Promise<Map<number, number>> {
  const committed = await admin.fetchOffsets({ groupId, topics: [topic] }).catch(() => []);
  return new Map((committed.find((entry) => entry.topic === topic)?.partitions ?? []).map((p) => [p.partition, Number(p.offset)]));
}

/**
 * Under exactly-once, every task that wrote a repartition partition ends it with its commit marker,
 * and the engine's committed offset stops after the last record, before the markers (see the
 * README's limits): up to this many offsets short of the end may be nothing but markers.
 */
const MAX_MARKER_TAIL = 16;
/** How long committed offsets must stand still before a marker-short tail counts as done. */
const SETTLE_MS = 1_000;

/** `done`; or `settling` with a fingerprint of where everything stands, when only markers may be left; or neither. */
async function doneness(admin: Admin, run: MeteredRun, inputEnds: ReadonlyMap<number, number>): Promise<'done' | 'no' | { settling: string }> {
  const input = await committedOf(admin, run.groupId, run.inputTopic);
  if (![...inputEnds].every(([partition, end]) => end === 0 || (input.get(partition) ?? -1) >= end)) return 'no';
  // Every input is processed, so its repartition writes are in: their ends no longer move.
  const internal = (await admin.listTopics()).filter((topic) => topic.startsWith(`${run.groupId}-`) && topic.endsWith('-repartition'));
  let fingerprint = '';
  let short = false;
  for (const topic of internal) {
    const committed = await committedOf(admin, run.groupId, topic);
    for (const { partition, high } of await admin.fetchTopicOffsets(topic)) {
      const end = Number(high);
      const at = committed.get(partition) ?? -1;
      fingerprint += `${topic}/${partition}=${at}/${end} `;
      if (end === 0 || at >= end) continue;
      if (!run.transactional || at < end - MAX_MARKER_TAIL) return 'no';
      short = true;
    }
  }
  return short ? { settling: fingerprint } : 'done';
}

/** Committed against end offsets of the input and the repartition topics, for a contender that never finishes. */
async function progress(admin: Admin, run: MeteredRun): Promise<string> {
  const topics = [run.inputTopic, ...(await admin.listTopics()).filter((topic) => topic.startsWith(`${run.groupId}-`) && topic.endsWith('-repartition'))];
  const parts: string[] = [];
  for (const topic of topics) {
    const committed = await committedOf(admin, run.groupId, topic);
    const ends = await admin.fetchTopicOffsets(topic);
    parts.push(`${topic}: ${ends.map(({ partition, high }) => `${partition}=${committed.get(partition) ?? '-'}/${high}`).join(' ')}`);
  }
  return `committed/end: ${parts.join('; ')}`;
}

/** Spawns the contender, waits until it is done (or fails or times out), measures it and stops it. */
export async function meterProcess(run: MeteredRun): Promise<ProcessFigures> {
  const kafka = new Kafka({ brokers: [...run.brokers], clientId: 'bench-meter', logLevel: logLevel.NOTHING });
  const admin = kafka.admin();
  await admin.connect();
  const ends = new Map((await admin.fetchTopicOffsets(run.inputTopic)).map((p) => [p.partition, Number(p.high)]));
  const started = process.hrtime.bigint();
  const child = spawn(run.command, [...run.args], { cwd: run.cwd, env: run.env ?? process.env, stdio: ['ignore', 'pipe', 'pipe'] });
  const exited = exitOf(child);
  let runningAt: bigint | undefined;
  let tail = '';
  const lines = (chunk: Buffer) => {
    for (const line of chunk.toString('utf8').split('\n')) {
      if (line.length === 0) continue;
      if (runningAt === undefined && line.includes('RUNNING')) runningAt = process.hrtime.bigint();
      tail = `${tail}\n${line}`.slice(-4_000);
      run.onLine?.(line);
    }
  };
  child.stdout?.on('data', lines);
  child.stderr?.on('data', lines);
  let exitCode: number | null | undefined;
  void exited.then((code) => (exitCode = code));
  try {
    const deadline = Date.now() + run.timeoutMs;
    let finished: bigint | undefined;
    let settling: { fingerprint: string; since: bigint } | undefined;
    while (finished === undefined) {
      if (exitCode !== undefined) throw new Error(`${run.command} exited with code ${String(exitCode)} before it was done:${tail}`);
      if (Date.now() > deadline) throw new Error(`${run.command} was not done after ${run.timeoutMs} ms (${await progress(admin, run)}):${tail}`);
      const now = process.hrtime.bigint();
      const state = await doneness(admin, run, ends);
      if (state === 'done') finished = now;
      else if (state === 'no') settling = undefined;
      // Short of the end by markers only, and nothing moved for a while: done when it last moved
      // (the output verification afterwards says whether anything was really left out).
      else if (settling?.fingerprint !== state.settling) settling = { fingerprint: state.settling, since: now };
      else if (Number(now - settling.since) / 1e6 >= SETTLE_MS) finished = settling.since;
      if (finished === undefined) await new Promise((resolve) => setTimeout(resolve, 100));
    }
    const pid = child.pid ?? -1;
    const figures: ProcessFigures = {
      seconds: round(Number(finished - started) / 1e9, 2),
      ...(runningAt === undefined ? {} : { processingSeconds: round(Number(finished - runningAt) / 1e9, 2) }),
      cpuSeconds: round(processCpuSeconds(pid), 2),
      peakRssMiB: round(processPeakRssMiB(pid)),
    };
    return figures;
  } finally {
    await admin.disconnect();
    if (child.exitCode === null) {
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 20_000);
      await exited;
      clearTimeout(timer);
    }
  }
}
