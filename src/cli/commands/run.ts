import type { Command } from 'commander';
import { UsageError } from '../exit-codes.ts';
import { PROCESS_NAMES, resolveProcess } from '../processes.ts';
import { runProcesses } from '../process-host.ts';
import type { CliContext } from '../context.ts';

export function registerRun(program: Command, context: CliContext): void {
  program
    .command('run')
    .summary('run pipeline processes against Kafka until SIGTERM or SIGINT')
    .description(
      [
        'Runs one or more pipeline processes in this process, configured by environment variables',
        '(and .env in the working directory; see README "Configuration"). Every variable is checked',
        'first: one message lists all that are wrong (exit code 2). One ops server on OPS_PORT serves',
        '/metrics, /healthz and /readyz for all of them. Prints RUNNING once all have started;',
        'SIGTERM or SIGINT stops them cleanly (exit code 0). A process that stops by itself ends the',
        'others: exit code 1, or 3 when credentials were refused.',
      ].join(' '),
    )
    .argument('<topology...>', `${PROCESS_NAMES.join(', ')}, or a path to a module exporting a topology`)
    .action(async (topologies: string[]) => {
      const duplicates = topologies.filter((t, i) => topologies.indexOf(t) !== i);
      if (duplicates.length > 0) throw new UsageError(`${duplicates.join(', ')} given more than once: one instance per process`);
      const processes = [];
      for (const topology of topologies) processes.push(await resolveProcess(topology));
      context.exitCode = await runProcesses(processes, { env: context.environment(), stdout: context.stdout, stderr: context.stderr });
    });
}
