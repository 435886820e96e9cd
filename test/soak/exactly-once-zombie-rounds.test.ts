/**
 * Soak: rounds of SIGKILL and SIGSTOP on either of two exactly-once instances (child processes,
 * continuous input) lose nothing and duplicate nothing in the read_committed output.
 */
import { describe, it } from 'vitest';
import { eosZombieScenario } from '../support/eos-zombies.ts';
import type { WorkerProcess } from '../support/app-processes.ts';
import { hasKafka } from '../support/services.ts';

describe.skipIf(!hasKafka)('exactly-once zombie rounds on a real broker (child processes, continuous input)', () => {
  const setUp = eosZombieScenario();

  it('SIGKILL/SIGSTOP rounds on two instances: 0 lost, 0 duplicates in the read_committed output over 10 rounds', { timeout: 240_000 }, async () => {
    const { launch, caughtUp, verify } = await setUp();
    const workers = [await launch('w0'), await launch('w1')];
    await caughtUp('both instances running');
    for (let round = 0; round < 10; round++) {
      const index = Math.floor(Math.random() * workers.length);
      const victim = workers[index] as WorkerProcess;
      if (round % 2 === 0) {
        victim.child.kill('SIGKILL');
        await victim.exited;
        workers[index] = await launch(`w${index}`);
      } else {
        victim.child.kill('SIGSTOP');
        await caughtUp(`round ${round}: the other instance took over`);
        victim.child.kill('SIGCONT');
      }
      await caughtUp(`after round ${round}`);
    }
    await verify(workers);
  });
});
