/**
 * The benchmark on a real broker, tiny: `npm run bench` as a user runs it (a spawned process) on
 * 2,000 ratings with two contenders writes a result file of the documented shape with every
 * contender verified; and the verifier itself refuses wrong answers (a missing, repeated, mis-joined
 * or extra record, a dead letter without its original bytes). Timings are only checked for being
 * numbers: tests never judge speed.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { Kafka, logLevel, type Message } from 'kafkajs';
import { verifyOutput } from '../../../bench/verify.ts';
import { enrichedType, expectedProfile, invalidity, rating, ratingBytes, ratingKey, validCount } from '../../../bench/workload.ts';
import { hasKafka, kafkaBrokers, uniqueName } from '../../support/services.ts';

const root = fileURLToPath(new URL('../../..', import.meta.url));
const dirs: string[] = [];
afterAll(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

function run(args: readonly string[], env: NodeJS.ProcessEnv): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'bench/run.ts', ...args], { cwd: root, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => void (output += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => void (output += chunk.toString()));
    child.on('exit', (code) => resolve({ code, output }));
  });
}

/** The output a correct contender writes for the first `records` ratings. */
function correctOutput(records: number): { enriched: Message[]; dead: Message[] } {
  const enriched: Message[] = [];
  const dead: Message[] = [];
  for (let i = 0; i < records; i++) {
    if (invalidity(i) !== undefined) dead.push({ key: ratingKey(i), value: ratingBytes(i) });
    else enriched.push({ key: ratingKey(i), value: enrichedType.toBuffer({ ...rating(i), userProfile: expectedProfile(i), enrichedAt: 1 }) });
  }
  return { enriched, dead };
}

describe.skipIf(!hasKafka)('the benchmark on a real broker', () => {
  it('npm run bench on 2,000 ratings writes a result file of the documented shape, every contender verified', { timeout: 180_000 }, async () => {
    const results = mkdtempSync(join(tmpdir(), 'bench-results-'));
    dirs.push(results);
    const { code, output } = await run(
      ['--records', '2000', '--small-records', '500', '--only', 'engine-global-alos,kafkajs-plain,seed-pattern', '--no-java', '--no-build', '--results-dir', results],
      { ...process.env, KAFKA_BROKERS: kafkaBrokers().join(',') },
    );
    expect(code, output).toBe(0);
    const files = readdirSync(results);
    expect(files).toContain('latest.json');
    expect(files.some((name) => /^\d{4}-\d{2}-\d{2}T.*-custom\.json$/.test(name))).toBe(true);
    const report = JSON.parse(readFileSync(join(results, 'latest.json'), 'utf8')) as Record<string, unknown> & {
      contenders: Array<Record<string, unknown> & { verification: Record<string, unknown>; ratios?: Record<string, Record<string, unknown>> }>;
    };
    expect(report).toMatchObject({ mode: 'custom', settings: { ratings: 2000, smallRatings: 500, java: false, build: false }, failures: [], ceilings: [], latency: [] });
    expect(report['machine']).toMatchObject({ cpus: expect.any(Number), node: process.version });
    expect(report.contenders.map((c) => c['id'])).toEqual(['engine-global-alos', 'kafkajs-plain', 'seed-pattern']);
    for (const contender of report.contenders) {
      const records = contender['id'] === 'seed-pattern' ? 500 : 2000;
      expect(contender).toMatchObject({ records, seconds: expect.any(Number), recordsPerSecond: expect.any(Number), cpuSeconds: expect.any(Number), cpuSecondsPerMillion: expect.any(Number), peakRssMiB: expect.any(Number) });
      expect(contender.verification).toMatchObject({ ok: true, missing: 0, wrong: 0, outputRecords: validCount(records), deadLetters: records - validCount(records), expectedOutput: validCount(records) });
      expect(contender['seconds'] as number).toBeGreaterThan(0);
    }
    // The engine set against plain kafkajs of the same size; the seed's pattern runs on the small input, so it has no peer.
    expect(report.contenders[0]?.ratios?.['vsKafkajs']).toMatchObject({ peer: 'kafkajs-plain', throughput: expect.any(Number), cpuEfficiency: expect.any(Number) });
    expect(report.contenders[2]?.ratios).toEqual({});
  });

  it('a bad flag exits 2 and names it', async () => {
    const { code, output } = await run(['--only', 'no-such-contender'], process.env);
    expect(code).toBe(2);
    expect(output).toContain('--only: no contender "no-such-contender"');
  });

  it('the verifier accepts the right output and refuses a missing, repeated, mis-joined or extra record and a changed dead letter', { timeout: 120_000 }, async () => {
    const brokers = kafkaBrokers();
    const kafka = new Kafka({ brokers, clientId: 'bench-verify-test', logLevel: logLevel.NOTHING });
    const admin = kafka.admin();
    const producer = kafka.producer();
    await Promise.all([admin.connect(), producer.connect()]);
    const records = 300;
    const { enriched, dead } = correctOutput(records);
    const check = async (name: string, output: Message[], deadLetters: Message[], exactlyOnce = true) => {
      const [outputTopic, dlqTopic] = [uniqueName(`verify-${name}`), uniqueName(`verify-${name}-dlq`)];
      await admin.createTopics({ waitForLeaders: true, topics: [{ topic: outputTopic, numPartitions: 2 }, { topic: dlqTopic, numPartitions: 2 }] });
      if (output.length > 0) await producer.send({ topic: outputTopic, messages: output });
      if (deadLetters.length > 0) await producer.send({ topic: dlqTopic, messages: deadLetters });
      const verdict = await verifyOutput({ brokers, records, outputTopic, dlqTopic, exactlyOnce });
      await admin.deleteTopics({ topics: [outputTopic, dlqTopic] });
      return verdict;
    };
    try {
      expect(await check('right', enriched, dead)).toMatchObject({ ok: true, missing: 0, duplicates: 0, wrong: 0, outputRecords: enriched.length, deadLetters: dead.length });

      expect(await check('missing', enriched.slice(1), dead)).toMatchObject({ ok: false, missing: 1 });
      const repeated = await check('repeated', [...enriched, enriched[5] as Message], dead);
      expect(repeated).toMatchObject({ ok: false, duplicates: 1 });
      // At-least-once may repeat: counted, not refused.
      expect(await check('repeated-alos', [...enriched, enriched[5] as Message], dead, false)).toMatchObject({ ok: true, duplicates: 1 });

      const misjoined = enriched.map((m, k) => (k === 7 ? { key: m.key, value: enrichedType.toBuffer({ ...rating(8), userProfile: expectedProfile(3), enrichedAt: 1 }) } : m));
      expect(await check('misjoined', misjoined, dead)).toMatchObject({ ok: false, wrong: 1 });
      const extra = [...enriched, { key: ratingKey(records + 5), value: Buffer.from('x') }];
      expect(await check('extra', extra, dead)).toMatchObject({ ok: false, wrong: 1 });
      const changed = dead.map((m, k) => (k === 0 ? { key: m.key, value: Buffer.from('changed') } : m));
      const deadVerdict = await check('changed-dlq', enriched, changed);
      expect(deadVerdict).toMatchObject({ ok: false, wrong: 1 });
      expect(deadVerdict.problems.join('\n')).toContain('original value bytes');
    } finally {
      await Promise.all([admin.disconnect(), producer.disconnect()]);
    }
  });
});
