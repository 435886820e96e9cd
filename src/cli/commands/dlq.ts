import { randomBytes } from 'node:crypto';
import type { Command } from 'commander';
import { readConfig } from '../../config/read-config.ts';
import { KAFKA_BROKERS, RATINGS_DLQ_TOPIC } from '../../config/variables.ts';
import type { Transport } from '../../transport/transport.ts';
import { byTime, keyText, matches, readDeadLetter, replayRecord, type DeadLetter, type DeadLetterFilter } from '../dlq/dead-letters.ts';
import { readTopicToEnd } from '../dlq/read-topic.ts';
import { EXIT, UsageError } from '../exit-codes.ts';
import type { CliContext } from '../context.ts';
import { collect, collectChoices, isoTime, regex, wholeNumber } from './options.ts';

const STAGES = ['deserialization', 'processing', 'production'] as const;
export const DLQ_VARIABLES = { KAFKA_BROKERS, RATINGS_DLQ_TOPIC };
/** Records per produce request of a replay; all of them are in one transaction. */
const REPLAY_CHUNK = 500;

interface SelectOptions {
  readonly topic?: string;
  readonly reason?: RegExp;
  readonly code?: string[];
  readonly stage?: string[];
  readonly since?: number;
  readonly until?: number;
  readonly limit?: number;
  readonly json?: boolean;
}

function addSelectOptions(command: Command): Command {
  return command
    .option('--topic <topic>', 'the dead-letter topic (default: RATINGS_DLQ_TOPIC, ratings_dlq)')
    .option('--reason <regex>', 'only dead letters whose reason (dlq.error.message) matches', regex)
    .option('--code <code>', 'only these error codes (dlq.error.code), e.g. VALIDATION_FAILED; repeatable or comma-separated', collect)
    .option('--stage <stage>', `only these stages (${STAGES.join(', ')}); repeatable or comma-separated`, collectChoices(STAGES))
    .option('--since <time>', 'only dead letters written at or after this ISO 8601 time', isoTime)
    .option('--until <time>', 'only dead letters written before this ISO 8601 time', isoTime)
    .option('--limit <n>', 'at most this many (the oldest first)', wholeNumber(1))
    .option('--json', 'print JSON instead of text');
}

interface Selection {
  readonly topic: string;
  readonly scanned: number;
  readonly matched: number;
  readonly letters: readonly DeadLetter[];
}

async function transportFor(context: CliContext): Promise<{ transport: Transport; topic: string }> {
  const { config } = readConfig('the configuration of dlq', DLQ_VARIABLES, context.environment());
  const { KafkaTransport } = await import('../../transport/kafka/index.ts');
  return { transport: new KafkaTransport({ brokers: config.KAFKA_BROKERS, clientId: 'rating-streams-dlq', logLevel: 'nothing' }), topic: config.RATINGS_DLQ_TOPIC };
}

async function select(transport: Transport, topic: string, options: SelectOptions): Promise<Selection> {
  if (options.since !== undefined && options.until !== undefined && options.since >= options.until) throw new UsageError('--since must be before --until');
  const filter: DeadLetterFilter = {
    ...(options.reason === undefined ? {} : { reason: options.reason }),
    ...(options.code === undefined ? {} : { codes: options.code }),
    ...(options.stage === undefined ? {} : { stages: options.stage }),
    ...(options.since === undefined ? {} : { since: options.since }),
    ...(options.until === undefined ? {} : { until: options.until }),
  };
  const found: DeadLetter[] = [];
  const scanned = await readTopicToEnd(transport, topic, (record) => {
    const letter = readDeadLetter(record);
    if (matches(letter, filter)) found.push(letter);
  });
  found.sort(byTime);
  return { topic, scanned, matched: found.length, letters: options.limit === undefined ? found : found.slice(0, options.limit) };
}

function asJson(letter: DeadLetter) {
  const { record } = letter;
  return {
    partition: record.partition,
    offset: record.offset,
    time: new Date(letter.time).toISOString(),
    stage: letter.stage ?? null,
    code: letter.code ?? null,
    reason: letter.reason ?? null,
    errorClass: letter.errorClass ?? null,
    node: letter.node ?? null,
    source: { topic: letter.source.topic ?? null, partition: letter.source.partition ?? null, offset: letter.source.offset ?? null },
    key: keyText(record.key),
    correlationId: letter.correlationId ?? null,
    valueBytes: record.value?.length ?? null,
    truncated: letter.truncated,
  };
}

const oneLine = (text: string, max: number) => {
  const flat = text.replace(/\s+/g, ' ').trim();
  return flat.length > max ? `${flat.slice(0, max - 1)}…` : flat;
};

function table(letters: readonly DeadLetter[]): string {
  const rows = letters.map((letter) => {
    const { source } = letter;
    return [
      `${letter.record.partition}/${letter.record.offset}`,
      new Date(letter.time).toISOString(),
      letter.stage ?? '-',
      letter.code ?? '-',
      `${source.topic ?? '?'}/${source.partition ?? '?'}/${source.offset ?? '?'}`,
      oneLine(keyText(letter.record.key) ?? '(null)', 40),
      `${letter.truncated ? '[truncated] ' : ''}${oneLine(letter.reason ?? '', 160)}`,
    ];
  });
  const header = ['PARTITION/OFFSET', 'TIME', 'STAGE', 'CODE', 'SOURCE TOPIC/PARTITION/OFFSET', 'KEY', 'REASON'];
  const widths = header.map((title, i) => Math.max(title.length, ...rows.map((row) => row[i]?.length ?? 0)));
  const format = (row: readonly string[]) => row.map((cell, i) => (i === row.length - 1 ? cell : cell.padEnd(widths[i] ?? 0))).join('  ');
  return [format(header), ...rows.map(format)].join('\n');
}

async function replay(transport: Transport, letters: readonly DeadLetter[], to: string): Promise<void> {
  const producer = transport.producer({ clientId: 'rating-streams-dlq-replay', transactionalId: `rating-streams-dlq-replay-${randomBytes(6).toString('hex')}` });
  await producer.connect();
  try {
    // One transaction: a reader of `to` (read_committed) sees every replayed record or none.
    const transaction = await producer.transaction();
    try {
      for (let i = 0; i < letters.length; i += REPLAY_CHUNK) await transaction.send(letters.slice(i, i + REPLAY_CHUNK).map((letter) => replayRecord(letter, to)));
      await transaction.commit();
    } catch (error) {
      await transaction.abort().catch(() => undefined);
      throw error;
    }
  } finally {
    await producer.disconnect().catch(() => undefined);
  }
}

async function topicExists(transport: Transport, topic: string): Promise<boolean> {
  const admin = transport.admin();
  await admin.connect();
  try {
    return (await admin.listTopics()).includes(topic);
  } finally {
    await admin.disconnect().catch(() => undefined);
  }
}

export function registerDlq(program: Command, context: CliContext): void {
  const dlq = program
    .command('dlq')
    .summary('inspect and replay dead letters')
    .description('Reads the dead-letter topic without consuming it: a throwaway consumer group that commits nothing, read_committed, up to the end offsets at the start.');

  addSelectOptions(
    dlq
      .command('inspect')
      .summary('list dead letters: where, when, stage, code, reason, source, key')
      .description('Lists the dead letters that match the filters, oldest first: offset, time written, stage, error code, reason, source topic/partition/offset and key.'),
  ).action(async (options: SelectOptions) => {
    const { transport, topic: configured } = await transportFor(context);
    const selection = await select(transport, options.topic ?? configured, options);
    if (options.json) {
      context.stdout.write(`${JSON.stringify({ topic: selection.topic, scanned: selection.scanned, matched: selection.matched, deadLetters: selection.letters.map(asJson) }, null, 2)}\n`);
      return;
    }
    if (selection.letters.length > 0) context.stdout.write(`${table(selection.letters)}\n`);
    context.stdout.write(`${selection.matched} of ${selection.scanned} dead letters in ${selection.topic} match${selection.letters.length < selection.matched ? `; ${selection.letters.length} shown` : ''}\n`);
  });

  addSelectOptions(
    dlq
      .command('replay')
      .summary('re-produce dead letters (original bytes and headers) to a topic')
      .description(
        [
          'Writes the matching dead letters to --to, oldest first, in one transaction: the original key,',
          'value, timestamp and headers, without the dlq.* headers, plus dlq.replayed-from:',
          '<dead-letter topic>/<partition>/<offset>. The dead-letter topic is only read. A dead letter',
          'that was truncated to fit (dlq.payload.truncated) no longer has its original bytes and is',
          'skipped, with a warning. Fix the cause first, then replay, e.g. to the topic the record came from.',
        ].join(' '),
      )
      .requiredOption('--to <topic>', 'the topic to write the records to (must exist)')
      .option('--dry-run', 'list what would be replayed, write nothing'),
  ).action(async (options: SelectOptions & { to: string; dryRun?: boolean }) => {
    const { transport, topic: configured } = await transportFor(context);
    if (!(await topicExists(transport, options.to))) throw new UsageError(`--to ${options.to}: the topic does not exist`);
    const selection = await select(transport, options.topic ?? configured, options);
    const replayable = selection.letters.filter((letter) => !letter.truncated);
    const skipped = selection.letters.length - replayable.length;
    if (!options.dryRun && replayable.length > 0) await replay(transport, replayable, options.to);
    if (skipped > 0) context.stderr.write(`dlq replay: skipped ${skipped} truncated dead letters (their original bytes are gone)\n`);
    if (options.json) {
      const summary = { from: selection.topic, to: options.to, dryRun: options.dryRun === true, scanned: selection.scanned, matched: selection.matched, replayed: options.dryRun ? 0 : replayable.length, skippedTruncated: skipped };
      context.stdout.write(`${JSON.stringify(options.dryRun ? { ...summary, wouldReplay: replayable.map(asJson) } : summary, null, 2)}\n`);
      return;
    }
    if (options.dryRun) {
      if (replayable.length > 0) context.stdout.write(`${table(replayable)}\n`);
      context.stdout.write(`would replay ${replayable.length} dead letters from ${selection.topic} to ${options.to} (dry run: nothing written)\n`);
    } else {
      context.stdout.write(`replayed ${replayable.length} dead letters from ${selection.topic} to ${options.to}\n`);
    }
    context.exitCode = EXIT.ok;
  });
}
