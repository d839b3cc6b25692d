import { ClientConfig, loadClientConfig } from '@keyd/config';
import { KeydClient } from './keyd.client';

/** The options every command takes, before or after its name. */
export interface GlobalOptions {
  addr?: string;
  token?: string;
  json?: boolean;
  timeout: number;
}

export interface CliOutput {
  out(text: string): void;
  err(text: string): void;
  /** True when stdout is a terminal: progress bars and colour only then. */
  interactive: boolean;
}

/** What a command runs with: its output, the global options, and a client built from them. */
export class CliContext {
  private client?: KeydClient;

  constructor(
    readonly io: CliOutput,
    readonly options: GlobalOptions,
  ) {}

  get json(): boolean {
    return this.options.json === true;
  }

  /** The daemon's variables the CLI reads, validated. */
  env(): ClientConfig {
    return loadClientConfig();
  }

  get address(): string {
    return this.options.addr ?? loadClientConfig().grpcAddr;
  }

  /** `--addr` and `--token` win over the daemon's own variables. */
  keyd(): KeydClient {
    if (!this.client) {
      const env = loadClientConfig();
      this.client = new KeydClient({
        addr: this.address,
        token: this.options.token ?? env.apiToken,
        timeoutMs: this.options.timeout,
      });
    }
    return this.client;
  }

  /** Prints the JSON form with --json, the readable one otherwise. */
  print(json: unknown, text: () => string): void {
    this.io.out(this.json ? JSON.stringify(json, null, 2) : text());
  }

  close(): void {
    this.client?.close();
  }
}
