/**
 * `rating-streams`: the command line of the pipeline (README "Command line"). Exit codes:
 * `exit-codes.ts`.
 */
import { Command, CommanderError } from 'commander';
import { ConfigError } from '../errors/streams-error.ts';
import { redactSecrets } from '../errors/redact.ts';
import { toError } from '../errors/streams-error.ts';
import { EXIT, UsageError, exitCodeOf } from './exit-codes.ts';
import { processContext, type CliContext } from './context.ts';
import { registerDescribe } from './commands/describe.ts';
import { registerDev } from './commands/dev.ts';
import { registerDlq } from './commands/dlq.ts';
import { registerRun } from './commands/run.ts';
import { registerSimulator } from './commands/simulator.ts';
import { registerTopics } from './commands/topics.ts';

const EXIT_CODES_HELP = `
Exit codes:
  0  done, or stopped by SIGTERM / SIGINT
  1  runtime failure (Kafka unreachable, a process failed or was fenced, topics that differ)
  2  bad usage or configuration (unknown command or option, bad or missing variable)
  3  credentials refused (OpenClaw API 401/403, PostgreSQL or Kafka login)

Configuration comes from environment variables, over .env in the working directory; see
.env.example and README "Configuration".`;

export function buildProgram(context: CliContext): Command {
  const program = new Command('rating-streams')
    .description('The rating pipeline: run its processes, describe topologies, create topics, inspect and replay dead letters.')
    .exitOverride()
    .configureOutput({ writeOut: (text) => void context.stdout.write(text), writeErr: (text) => void context.stderr.write(text) })
    .showHelpAfterError('(add --help for usage)')
    .enablePositionalOptions()
    .addHelpText('after', EXIT_CODES_HELP);
  registerRun(program, context);
  registerDescribe(program, context);
  registerDev(program, context);
  registerSimulator(program, context);
  registerTopics(program, context);
  registerDlq(program, context);
  return program;
}

/** Runs the command line `argv` (without node and the script) and resolves with its exit code. */
export async function runCli(argv: readonly string[], context: CliContext = processContext()): Promise<number> {
  const program = buildProgram(context);
  try {
    await program.parseAsync([...argv], { from: 'user' });
    return context.exitCode;
  } catch (error) {
    if (error instanceof CommanderError) {
      // Help and version exit 0; every parse error (unknown command or option, missing or bad argument) is a usage error.
      return error.exitCode === 0 ? EXIT.ok : EXIT.usage;
    }
    const message = toError(error).message;
    const label = error instanceof ConfigError || error instanceof UsageError ? 'rating-streams' : 'rating-streams: error';
    context.stderr.write(`${label}: ${redactSecrets(message)}\n`);
    return exitCodeOf(error);
  }
}
