import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { StreamsBuilder, type Topology } from '../../../src/index.ts';
import { TopologyTestDriver } from '../../../src/testing/index.ts';

interface Rating {
  readonly id: string;
  readonly userId: string;
  readonly productId: string;
  readonly score: number;
}

interface User {
  readonly name: string;
  readonly tier: 'gold' | 'silver';
}

/** Ratings (keyed by rating id) enriched with their user's newest profile, or `null` without one. */
function enrichedRatings(): Topology {
  const builder = new StreamsBuilder({ defaultKeySerde: 'string', defaultValueSerde: 'json' });
  const users = builder.table<string, User>('users', { store: { name: 'users' } });
  builder
    .stream<string, Rating>('ratings')
    .selectKey((_id, rating) => rating.userId) // the join then repartitions by user id
    .leftJoin(users, (rating, user) => ({ ...rating, userName: user?.name ?? null }), { repartitionName: 'ratings-by-user' })
    .to('ratings_enriched');
  return builder.build();
}

const serdes = { keySerde: 'string', valueSerde: 'json' } as const;

describe('README example: tables and joins', () => {
  it('joins each rating with the newest profile of its user', async () => {
    const driver = new TopologyTestDriver(enrichedRatings());
    const users = driver.createInputTopic<string, User | null>('users', serdes);
    const ratings = driver.createInputTopic<string, Rating>('ratings', serdes);
    const enriched = driver.createOutputTopic<string, Rating & { userName: string | null }>('ratings_enriched', serdes);

    users.pipeInput('u1', { name: 'Ann', tier: 'gold' });
    ratings.pipeInput('r1', { id: 'r1', userId: 'u1', productId: 'p1', score: 5 });
    ratings.pipeInput('r2', { id: 'r2', userId: 'u2', productId: 'p1', score: 2 }); // u2 has no profile
    users.pipeInput('u1', { name: 'Ann B.', tier: 'gold' });
    ratings.pipeInput('r3', { id: 'r3', userId: 'u1', productId: 'p2', score: 4 });

    expect(enriched.readKeyValuesToList().map(({ key, value }) => [key, value?.id, value?.userName])).toEqual([
      ['u1', 'r1', 'Ann'],
      ['u2', 'r2', null],
      ['u1', 'r3', 'Ann B.'],
    ]);
    expect(await driver.getKeyValueStore<string, User>('users')?.get('u1')).toEqual({ name: 'Ann B.', tier: 'gold' });
    expect(driver.broker.hasTopic('test-app-ratings-by-user-repartition')).toBe(true);
  });

  it('is shown in the README exactly as it is here', () => {
    const readme = readFileSync(new URL('../../../README.md', import.meta.url), 'utf8');
    const source = readFileSync(new URL(import.meta.url), 'utf8');
    // Everything but the first import (used by this check only), up to this check.
    const example = source.slice(source.indexOf('\n') + 1, source.indexOf("\n  it('is shown in the README")).trimEnd();
    expect(readme).toContain(`\`\`\`ts\n${example}\n});\n\`\`\``);
  });
});
