import { Option, type Command } from 'commander';
import { SIMULATOR_FLAGS, SimulatorFlagError, simulatorOptionsFromFlags } from '../../connectors/openclaw/simulator-flags.ts';
import { UsageError } from '../exit-codes.ts';
import type { CliContext } from '../context.ts';

export function registerSimulator(program: Command, context: CliContext): void {
  const command = program
    .command('simulator')
    .summary('run the OpenClaw Rating API simulator on its own')
    .description(
      [
        'Serves GET /api/ratings (Authorization: Bearer <key>) like the OpenClaw Rating API, with optional',
        'faults, for the ingest to poll. Prints its base URL (the ingest\'s OPENCLAW_URL) on stdout and',
        'details on stderr; stops on SIGTERM or SIGINT and prints its stats.',
      ].join(' '),
    );
  for (const flag of SIMULATOR_FLAGS) command.addOption(new Option(`--${flag.name} <${flag.value}>`, flag.help));
  command.action(async (_options: unknown, self: Command) => {
    const values: Record<string, string | undefined> = {};
    for (const option of self.options) {
      const value: unknown = self.getOptionValue(option.attributeName());
      if (typeof value === 'string') values[option.long?.slice(2) ?? option.attributeName()] = value;
    }
    let options;
    try {
      options = simulatorOptionsFromFlags(values);
    } catch (error) {
      throw error instanceof SimulatorFlagError ? new UsageError(error.message) : error;
    }
    const { startOpenClawSimulator } = await import('../../connectors/openclaw/simulator.ts');
    const simulator = await startOpenClawSimulator(options);
    context.stdout.write(`${simulator.url}\n`);
    const mode = options.total === undefined ? `${simulator.generator.ratePerSecond} ratings/s` : `${options.total} ratings`;
    const active = Object.entries(options.faults ?? {}).filter(([, p]) => p > 0);
    context.stderr.write(
      `OpenClaw simulator: GET ${simulator.url}/api/ratings (Authorization: Bearer <key>), ${mode}, seed ${simulator.generator.seed}` +
        `, invalid rate ${simulator.generator.invalidRate}, faults ${active.length === 0 ? 'none' : active.map(([n, p]) => `${n}=${p}`).join(' ')}\n`,
    );
    const signal = await new Promise<NodeJS.Signals>((resolve) => {
      process.once('SIGTERM', () => resolve('SIGTERM'));
      process.once('SIGINT', () => resolve('SIGINT'));
    });
    await simulator.stop();
    context.stderr.write(`OpenClaw simulator stopped on ${signal}: ${JSON.stringify(simulator.stats())}\n`);
  });
}
