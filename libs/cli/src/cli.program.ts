import { Command, CommanderError } from 'commander';
import { ConfigError } from '@keyd/config';
import { CliContext, CliOutput, GlobalOptions } from './cli.context';
import { CliError, EXIT, exitCodeFor } from './exit.codes';
import { demoCommand } from './demo/demo.command';
import { importCommand } from './import/import.command';
import { Bind, keyCommands, positiveInt } from './key.commands';
import { isServiceError } from './keyd.client';
import { nodeCommands } from './node.commands';

export interface CliHooks {
  /** Runs the daemon; resolves once it is listening. */
  serve(): Promise<void>;
}

const processOutput: CliOutput = {
  out: (text) => process.stdout.write(text.endsWith('\n') ? text : `${text}\n`),
  err: (text) => process.stderr.write(text.endsWith('\n') ? text : `${text}\n`),
  interactive: process.stdout.isTTY === true,
};

function program(io: CliOutput, hooks: CliHooks, contexts: CliContext[]): Command {
  const bind: Bind =
    (run) =>
    async (...args) => {
      const cmd = args[args.length - 1] as Command;
      const ctx = new CliContext(io, cmd.optsWithGlobals<GlobalOptions>());
      contexts.push(ctx);
      try {
        await run(ctx, ...args.slice(0, -1));
      } catch (e) {
        if (isServiceError(e) && exitCodeFor(e.code) === EXIT.UNAVAILABLE)
          throw new CliError(`no answer from keyd at ${ctx.address}: ${e.details || e.message}`, EXIT.UNAVAILABLE);
        throw e;
      }
    };
  const root = new Command('keyd')
    .description("keyd: VLESS keys on an Xray-core server. The commands below talk to the daemon's gRPC API.")
    .option('--addr <host:port>', "the daemon's gRPC API (default: KEYD_GRPC_LISTEN, else 127.0.0.1:50051)")
    .option('--token <token>', 'the gRPC API token (default: KEYD_API_TOKEN)')
    .option('--json', 'print JSON instead of text')
    .option('--timeout <ms>', 'deadline of each call', positiveInt, 15_000)
    .exitOverride()
    .configureOutput({ writeOut: (s) => io.out(s), writeErr: (s) => io.err(s) });
  root
    .command('serve')
    .description('run the daemon (what npm start runs)')
    .action(() => hooks.serve());
  keyCommands(root, bind);
  nodeCommands(root, bind);
  importCommand(root, bind);
  demoCommand(root, bind);
  return root;
}

/**
 * Runs one command and answers its exit code: 0 ok, 2 bad arguments, 3 not
 * found, 4 unauthenticated, 5 unavailable, 1 anything else. `keyd` with no
 * command runs the daemon, as `keyd serve` does.
 */
export async function runCli(argv: string[], hooks: CliHooks, io: CliOutput = processOutput): Promise<number> {
  const contexts: CliContext[] = [];
  const args = argv.length <= 2 ? [...argv, 'serve'] : argv;
  const cmd = program(io, hooks, contexts);
  try {
    await cmd.parseAsync(args);
    return EXIT.OK;
  } catch (e) {
    return failure(e, io);
  } finally {
    for (const ctx of contexts) ctx.close();
  }
}

function failure(e: unknown, io: CliOutput): number {
  if (e instanceof CommanderError) {
    // Help and version are "errors" to commander; they have already been printed.
    return e.exitCode === 0 ? EXIT.OK : EXIT.BAD_ARGUMENTS;
  }
  if (e instanceof CliError) {
    io.err(`keyd: ${e.message}`);
    return e.exitCode;
  }
  if (e instanceof ConfigError) {
    io.err(`keyd: ${e.message}`);
    return EXIT.BAD_ARGUMENTS;
  }
  if (isServiceError(e)) {
    io.err(`keyd: ${e.details || e.message}`);
    return exitCodeFor(e.code);
  }
  io.err(`keyd: ${e instanceof Error ? e.message : String(e)}`);
  return EXIT.FAILED;
}
