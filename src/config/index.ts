/** Settings from environment variables (and `.env`), checked at start-up; see README "Configuration". */
export { loadEnvironment, type Environment, type LoadEnvironmentOptions } from './environment.ts';
export { checkConfig, readConfig, secretsFromFiles, shown, type ConfigCheck, type CheckConfigOptions, type Variables } from './read-config.ts';
export { ConfigProblemsError, formatProblems } from './problems.ts';
export { requiredVariable, defaultedVariable, optionalVariable, type Variable, type VariableDoc, type ConfigOf, type Parser } from './variable.ts';
export * as parsers from './parsers.ts';
export * from './variables.ts';
export { configurationTable, envExample } from './docs.ts';
