import { ConfigError } from '../errors/streams-error.ts';

/**
 * Everything wrong with a configuration, one line per problem, so that one start-up shows every
 * variable to fix. The lines never hold a secret's value.
 */
export class ConfigProblemsError extends ConfigError {
  readonly problems: readonly string[];

  constructor(subject: string, problems: readonly string[]) {
    super(formatProblems(subject, problems));
    this.problems = problems;
  }
}

export function formatProblems(subject: string, problems: readonly string[]): string {
  const count = problems.length === 1 ? 'a problem' : `${problems.length} problems`;
  return [`${subject} has ${count}:`, ...problems.map((problem) => `  - ${problem}`), 'Set these in the environment or in .env (see .env.example).'].join('\n');
}
