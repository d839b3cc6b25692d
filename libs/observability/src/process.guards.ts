import { AppLogger } from './pino.logger';

type ProcessLike = Pick<NodeJS.Process, 'on' | 'exit'>;

/**
 * A rejected promise that nothing handled is a bug, but not one that leaves the
 * daemon in an unknown state: it is logged with its stack and keyd keeps
 * serving. An uncaught exception may have interrupted any code mid-way, so it
 * is logged and the process exits non-zero for its supervisor to restart it.
 */
export function installProcessGuards(log: AppLogger, proc: ProcessLike = process): void {
  proc.on('unhandledRejection', (reason: unknown) => {
    log.error({ err: reason }, 'unhandled promise rejection; keyd keeps running');
  });
  proc.on('uncaughtException', (err: Error) => {
    log.fatal({ err }, 'uncaught exception; exiting so that a supervisor restarts keyd');
    log.flush();
    proc.exit(1);
  });
}
