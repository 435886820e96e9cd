import { Option, type Command } from 'commander';
import { ConfigProblemsError } from '../../config/problems.ts';
import { UsageError } from '../exit-codes.ts';
import { PROCESS_NAMES, resolveProcess } from '../processes.ts';
import type { CliContext } from '../context.ts';

export function registerDescribe(program: Command, context: CliContext): void {
  program
    .command('describe')
    .summary('print a topology: sub-topologies, sources, processors, sinks, topics and stores')
    .description(
      [
        'Prints the topology a process would run, with the topic names and formats of the current',
        'environment, without connecting to anything: as text (Topology.describe()) or as a Mermaid',
        'flowchart (subgraphs for sub-topologies, topics as nodes). With SCHEMA_REGISTRY_URL set, the',
        "ratings serde shows as plain avro. openclaw-ingest and users-cdc are connectors, not topologies.",
      ].join(' '),
    )
    .argument('<topology>', `${PROCESS_NAMES.filter((name) => name !== 'openclaw-ingest' && name !== 'users-cdc').join(', ')}, or a path to a module exporting a topology`)
    .addOption(new Option('--format <format>', 'output format').choices(['text', 'mermaid']).default('text'))
    .action(async (topology: string, options: { format: 'text' | 'mermaid' }) => {
      const process = await resolveProcess(topology);
      if (process.topology === undefined) throw new UsageError(`${topology} is a connector, not a Streams topology: there is no topology to describe`);
      const described = process.topology(context.environment());
      if (!described.ok) throw new ConfigProblemsError(`the configuration of ${topology}`, described.problems);
      const description = described.topology.describe();
      context.stdout.write(options.format === 'mermaid' ? description.toMermaid() : description.toString());
    });
}
