export { runCli } from './cli.program';
export type { CliHooks } from './cli.program';
