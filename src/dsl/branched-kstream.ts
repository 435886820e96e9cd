/**
 * `KStream.split()`: declare branches in order, then close with `defaultBranch()` or
 * `noDefaultBranch()` to get the branch streams by name. A record goes to the first branch whose
 * predicate accepts it; with no default branch, a record no branch accepts is dropped.
 *
 * @example
 * const { valid, invalid } = ratings.split()
 *   .branch((_k, r) => r.score >= 1 && r.score <= 5, { name: 'valid' })
 *   .defaultBranch({ name: 'invalid' });
 */
import type { StreamRecord } from '../runtime/stream-record.ts';
import type { AnyRecord } from '../topology/graph.ts';
import { KStream } from './kstream.ts';
import type { GraphDraft } from './streams-builder.ts';

type Predicate<K, V> = (key: K | null, value: V, record: StreamRecord<K, V>) => boolean;

export class BranchedKStream<K, V, B extends string = never> {
  private readonly branches: Array<{ readonly name: string; readonly predicate: Predicate<K, V> }> = [];
  private closed = false;

  /** @internal */
  constructor(
    private readonly draft: GraphDraft,
    private readonly parent: string,
    private readonly splitName: string | undefined,
    private readonly keyChanged = false,
  ) {}

  branch<N extends string>(predicate: Predicate<K, V>, options: { readonly name: N }): BranchedKStream<K, V, B | N> {
    this.branches.push({ name: options.name, predicate });
    return this as unknown as BranchedKStream<K, V, B | N>;
  }

  defaultBranch<N extends string>(options: { readonly name: N }): Record<B | N, KStream<K, V>> {
    return this.finish(options.name) as Record<B | N, KStream<K, V>>;
  }

  noDefaultBranch(): Record<B, KStream<K, V>> {
    return this.finish(undefined) as Record<B, KStream<K, V>>;
  }

  private finish(defaultName: string | undefined): Record<string, KStream<K, V>> {
    if (this.closed) throw new Error('this split() was already closed with defaultBranch()/noDefaultBranch()');
    this.closed = true;
    const routerName = this.splitName ?? this.draft.nextName('BRANCH');
    const names = [...this.branches.map((b) => b.name), ...(defaultName === undefined ? [] : [defaultName])];
    const childNames = names.map((name) => `${routerName}-${name}`);
    const predicates = this.branches.map((b) => b.predicate);
    const fallback = defaultName === undefined ? -1 : predicates.length;
    this.draft.add({
      kind: 'router',
      type: 'split',
      name: routerName,
      parents: [this.parent],
      routes: childNames,
      route: (record: AnyRecord) => {
        const typed = record as StreamRecord<K, V>;
        const index = predicates.findIndex((predicate) => predicate(typed.key, typed.value, typed));
        return index === -1 ? fallback : index;
      },
    });
    const streams: Record<string, KStream<K, V>> = {};
    names.forEach((name, index) => {
      const childName = childNames[index] as string;
      this.draft.add({ kind: 'processor', type: 'branch', name: childName, parents: [routerName], build: () => (source) => source });
      streams[name] = new KStream<K, V>(this.draft, childName, this.keyChanged);
    });
    return streams;
  }
}
