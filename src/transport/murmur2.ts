/**
 * Kafka's default key partitioner: murmur2 (the 32-bit variant with Kafka's seed) over the key
 * bytes, made non-negative by masking the sign bit. Written from the algorithm so that records keyed
 * the same land on the same partition in the memory log as on a real broker fed by the Java client
 * or kafkajs's `DefaultPartitioner`: a topology tested in memory keeps its co-partitioning on Kafka.
 * The Kafka transport partitions with it too: kafkajs' own murmur2 does its 32-bit arithmetic on
 * 64-bit BigInt wrappers and cost more than encoding the record.
 */

const SEED = 0x9747b28c;
const MULTIPLIER = 0x5bd1e995;
const SHIFT = 24;

/**
 * The 32-bit murmur2 hash of `data` as a signed integer, exactly as Kafka's `Utils.murmur2`.
 * Signed, because Java's `int` overflows that way and the partition formula depends on it.
 */
export function murmur2(data: Buffer): number {
  const length = data.length;
  let h = (SEED ^ length) | 0;
  const whole = length - (length % 4);
  for (let i = 0; i < whole; i += 4) {
    let k = data.readInt32LE(i);
    k = Math.imul(k, MULTIPLIER);
    k ^= k >>> SHIFT;
    k = Math.imul(k, MULTIPLIER);
    h = Math.imul(h, MULTIPLIER);
    h ^= k;
  }
  // The 1 to 3 trailing bytes, as Java's fall-through switch mixes them.
  const rest = length % 4;
  if (rest === 3) h ^= (data[whole + 2] ?? 0) << 16;
  if (rest >= 2) h ^= (data[whole + 1] ?? 0) << 8;
  if (rest >= 1) {
    h ^= data[whole] ?? 0;
    h = Math.imul(h, MULTIPLIER);
  }
  h ^= h >>> 13;
  h = Math.imul(h, MULTIPLIER);
  h ^= h >>> 15;
  return h | 0;
}

/**
 * Kafka's `Utils.toPositive`: clears the sign bit rather than taking `Math.abs`, which is what makes
 * the result differ from a naive port for negative hashes.
 */
export function toPositive(n: number): number {
  return n & 0x7fffffff;
}

/** The partition Kafka's default partitioner picks for a non-null key. */
export function partitionForKey(key: Buffer, partitions: number): number {
  return toPositive(murmur2(key)) % partitions;
}
