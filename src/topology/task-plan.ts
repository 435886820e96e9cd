/**
 * Tasks over partition groups, as in Kafka Streams: a sub-topology runs as one task per partition
 * number, and task N reads partition N of every source topic of its sub-topology, so a stream's
 * partition N meets the table's partition N in one place. Pure: the runtime asks the broker for the
 * partition counts and hands them in.
 */
import { TopologyError } from '../errors/streams-error.ts';
import type { CopartitionGroup, Subtopology, TopicRef } from './subtopologies.ts';

/** One task: sub-topology `subtopology`, partition `partition`, reading `inputs`. */
export interface TaskSpec {
  /** `<subtopology>_<partition>`, as Kafka Streams names tasks. */
  readonly id: string;
  readonly subtopology: number;
  readonly partition: number;
  /** Full topic names (internal ones with the application id prefix) and the partition read. */
  readonly inputs: ReadonlyArray<{ readonly topic: string; readonly partition: number }>;
}

export type TaskPlan = { readonly ok: true; readonly tasks: readonly TaskSpec[] } | { readonly ok: false; readonly error: TopologyError };

export interface PlanInput {
  readonly subtopologies: readonly Subtopology[];
  readonly copartitionGroups: readonly CopartitionGroup[];
  readonly applicationId: string;
  /**
   * Partition count of a topic by its full name; `undefined` when unknown. An internal topic whose
   * count is unknown takes the count of the other topics of its co-partition group, as Kafka Streams
   * sizes repartition topics that feed a join.
   */
  readonly partitionCount: (topic: string) => number | undefined;
}

const fullName = (ref: TopicRef, applicationId: string) => (ref.internal ? `${applicationId}-${ref.topic}` : ref.topic);

/** The partition counts of every co-partitioned topic, after checking that each group agrees. */
function checkCopartitioning(input: PlanInput, counts: Map<string, number>): TopologyError | undefined {
  for (const group of input.copartitionGroups) {
    let first: { topic: string; count: number } | undefined;
    for (const ref of group.topics) {
      const topic = fullName(ref, input.applicationId);
      const count = counts.get(topic);
      if (count === undefined) continue;
      if (first === undefined) first = { topic, count };
      else if (count !== first.count) {
        return new TopologyError(
          `topics ${first.topic} (${first.count} partitions) and ${topic} (${count} partitions) are joined by ${group.joins.join(', ')} and must be co-partitioned: give them the same number of partitions`,
          { context: { node: group.joins[0] ?? '' } },
        );
      }
    }
    if (first === undefined) continue;
    for (const ref of group.topics) {
      const topic = fullName(ref, input.applicationId);
      if (!counts.has(topic) && ref.internal) counts.set(topic, first.count);
    }
  }
  return undefined;
}

/**
 * Checks co-partitioning and lists the tasks: for each non-global sub-topology, as many tasks as
 * its widest source topic has partitions. Returns the error (naming both topics and both counts)
 * instead of the tasks when joined topics differ, or when a topic's count is unknown.
 *
 * @example
 * const plan = planTasks({ subtopologies: t.subtopologies(), copartitionGroups: t.copartitionGroups(), applicationId: 'app', partitionCount: (topic) => counts.get(topic) });
 * if (!plan.ok) throw plan.error;
 */
export function planTasks(input: PlanInput): TaskPlan {
  const counts = new Map<string, number>();
  for (const sub of input.subtopologies) {
    for (const ref of sub.sourceTopics) {
      const topic = fullName(ref, input.applicationId);
      const count = input.partitionCount(topic);
      if (count !== undefined) counts.set(topic, count);
    }
  }
  const error = checkCopartitioning(input, counts);
  if (error) return { ok: false, error };
  const tasks: TaskSpec[] = [];
  for (const sub of input.subtopologies) {
    if (sub.global) continue;
    const topics = sub.sourceTopics.map((ref) => fullName(ref, input.applicationId));
    const missing = topics.find((topic) => !(Number.isInteger(counts.get(topic)) && (counts.get(topic) ?? 0) >= 1));
    if (missing !== undefined) {
      return { ok: false, error: new TopologyError(`topic ${missing} of sub-topology ${sub.id}: its partition count is unknown or below 1 (got ${String(counts.get(missing))})`) };
    }
    const width = Math.max(...topics.map((topic) => counts.get(topic) ?? 0));
    for (let partition = 0; partition < width; partition += 1) {
      const inputs = topics.filter((topic) => (counts.get(topic) ?? 0) > partition).map((topic) => ({ topic, partition }));
      tasks.push({ id: `${sub.id}_${partition}`, subtopology: sub.id, partition, inputs });
    }
  }
  return { ok: true, tasks };
}
