/** What the bench tells each Node.js contender process: one JSON object as its only argument. */
export interface ContenderArgs {
  readonly brokers: string[];
  readonly applicationId: string;
  readonly guarantee: 'at-least-once' | 'exactly-once';
  /** `global`: the users table on every instance, joined by user id; `table`: partitioned, ratings repartitioned by user id. */
  readonly variant: 'global' | 'table';
  readonly ratingsTopic: string;
  readonly usersTopic: string;
  readonly outputTopic: string;
  readonly dlqTopic: string;
  readonly format?: 'avro' | 'json';
  readonly maxInFlight?: number;
}

export function contenderArgs(argv = process.argv): ContenderArgs {
  const raw = argv[2];
  if (raw === undefined) throw new Error('usage: <contender> \'{"brokers":[...],"applicationId":...}\' (see bench/contenders/args.ts)');
  return JSON.parse(raw) as ContenderArgs;
}
