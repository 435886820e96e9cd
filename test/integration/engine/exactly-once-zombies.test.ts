/**
 * Exactly-once against a zombie on a real broker, with instances in child processes and input
 * arriving continuously: an instance paused (SIGSTOP) past its session timeout while the other
 * takes its partitions over, then resumed (SIGCONT), must not commit anything for those partitions
 * (it is fenced by the per-task transactional id). Ten SIGKILL/SIGSTOP rounds are a soak test
 * (`test/soak/exactly-once-zombie-rounds.test.ts`).
 */
import { describe, it } from 'vitest';
import { eosZombieScenario } from '../../support/eos-zombies.ts';
import { hasKafka } from '../../support/services.ts';

describe.skipIf(!hasKafka)('exactly-once with a zombie on a real broker (child processes, continuous input)', () => {
  const setUp = eosZombieScenario();

  it('an instance paused past its session timeout and resumed commits nothing for partitions taken over', { timeout: 150_000 }, async () => {
    const { launch, caughtUp, verify } = await setUp();
    const a = await launch('a');
    const b = await launch('b');
    await caughtUp('both instances running');
    // `a` has records in an open transaction now (input keeps coming, commits every 100 ms).
    a.child.kill('SIGSTOP');
    // Only once `b` owns `a`'s partitions can everything written until now reach the output.
    await caughtUp('b took a over');
    a.child.kill('SIGCONT');
    await caughtUp('after a resumed');
    await verify([a, b]);
  });
});
