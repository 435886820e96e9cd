/**
 * Input and output topics of the TopologyTestDriver, typed by their serdes.
 */
import type { Serde } from '../serdes/serde.ts';
import type { Headers, IncomingRecord, OutgoingRecord } from '../transport/transport.ts';

export interface PipeOptions {
  readonly timestamp?: number;
  readonly headers?: Headers;
  readonly partition?: number;
}

export class TestInputTopic<K, V> {
  /** @internal */
  constructor(
    private readonly pipe: (record: OutgoingRecord) => void,
    readonly topic: string,
    private readonly keySerde: Serde<K>,
    private readonly valueSerde: Serde<V>,
    private readonly now: () => number,
  ) {}

  /** Writes one record and processes it (and everything it causes) before returning. */
  pipeInput(key: K | null, value: V | null, options: PipeOptions = {}): void {
    this.pipe({
      topic: this.topic,
      key: this.keySerde.serialize(key, this.topic),
      value: this.valueSerde.serialize(value, this.topic),
      headers: options.headers ?? {},
      timestamp: options.timestamp ?? this.now(),
      ...(options.partition === undefined ? {} : { partition: options.partition }),
    });
  }

  /** Writes raw bytes, e.g. to check what a bad record does. */
  pipeRaw(key: Buffer | null, value: Buffer | null, options: PipeOptions = {}): void {
    this.pipe({ topic: this.topic, key, value, headers: options.headers ?? {}, timestamp: options.timestamp ?? this.now() });
  }

  pipeKeyValueList(pairs: ReadonlyArray<{ readonly key: K | null; readonly value: V | null }>, options: PipeOptions = {}): void {
    for (const pair of pairs) this.pipeInput(pair.key, pair.value, options);
  }
}

export interface TestRecord<K, V> {
  readonly key: K | null;
  readonly value: V | null;
  readonly headers: Headers;
  readonly timestamp: number;
  readonly partition: number;
}

export class TestOutputTopic<K, V> {
  private position = 0;

  /** @internal */
  constructor(
    private readonly records: () => readonly IncomingRecord[],
    private readonly keySerde: Serde<K>,
    private readonly valueSerde: Serde<V>,
  ) {}

  isEmpty(): boolean {
    return this.position >= this.records().length;
  }

  /** The next unread record; throws when there is none. */
  readRecord(): TestRecord<K, V> {
    const raw = this.records()[this.position];
    if (raw === undefined) throw new Error('no more records in the output topic');
    this.position += 1;
    return {
      key: this.keySerde.deserialize(raw.key, raw.topic),
      value: this.valueSerde.deserialize(raw.value, raw.topic),
      headers: raw.headers,
      timestamp: raw.timestamp,
      partition: raw.partition,
    };
  }

  readKeyValue(): { key: K | null; value: V | null } {
    const { key, value } = this.readRecord();
    return { key, value };
  }

  readValue(): V | null {
    return this.readRecord().value;
  }

  readRecordsToList(): TestRecord<K, V>[] {
    const out: TestRecord<K, V>[] = [];
    while (!this.isEmpty()) out.push(this.readRecord());
    return out;
  }

  readKeyValuesToList(): Array<{ key: K | null; value: V | null }> {
    return this.readRecordsToList().map(({ key, value }) => ({ key, value }));
  }

  readValuesToList(): Array<V | null> {
    return this.readRecordsToList().map((record) => record.value);
  }
}
