import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { TopologyTestDriver } from '../../../src/testing/index.ts';
import { ratingAlerts, type Alert, type Rating } from '../../../topologies/rating-alerts/topology.ts';

const serdes = { keySerde: 'string', valueSerde: 'json' } as const;

describe('README example: rating alerts', () => {
  it('raises alerts keyed by product and sends malformed ratings aside', () => {
    const driver = new TopologyTestDriver(ratingAlerts());
    const ratings = driver.createInputTopic<string, Rating>('ratings', serdes);
    const alerts = driver.createOutputTopic<string, Alert>('rating_alerts', serdes);
    const invalid = driver.createOutputTopic<string, Rating>('ratings_invalid', serdes);

    ratings.pipeInput('r1', { id: 'r1', productId: 'p1', userId: 'u1', score: 5, comment: 'great' });
    ratings.pipeInput('r2', { id: 'r2', productId: 'p2', userId: 'u2', score: 1, comment: 'Terrible!!' });
    ratings.pipeInput('r3', { id: 'r3', productId: 'p1', userId: 'u3', score: 9, comment: null });

    expect(alerts.readKeyValuesToList()).toEqual([
      { key: 'p2', value: { ratingId: 'r2', productId: 'p2', score: 1, reason: 'low-score' } },
      { key: 'p2', value: { ratingId: 'r2', productId: 'p2', score: 1, reason: 'angry-comment' } },
    ]);
    expect(invalid.readValuesToList().map((r) => r?.id)).toEqual(['r3']);
    expect(driver.committedOffset('ratings')).toBe(3);
  });

  it('is shown in the README exactly as it is in the repository', () => {
    const readme = readFileSync(new URL('../../../README.md', import.meta.url), 'utf8');
    for (const file of ['../../../topologies/rating-alerts/topology.ts', './rating-alerts.test.ts']) {
      const source = readFileSync(new URL(file, import.meta.url), 'utf8');
      const body = source.slice(source.indexOf('\n', source.indexOf("from '")) + 1).trim();
      expect(readme).toContain(body.split('\n').slice(0, 12).join('\n'));
    }
  });
});
