import { ChildProcess, spawn } from 'child_process';
import { promises as fs } from 'fs';
import * as os from 'os';
import * as path from 'path';
import { CORE_BIN, writeJson } from './core.harness';
import { LOOPBACK, freePorts } from './ports.harness';
import { OutputRing, hasExited, stopProcess, track, waitForExit, waitForTcp } from './processes.harness';
import { TARGET_OK_BODY } from './target.harness';

const DEFAULT_PROBE_TIMEOUT_MS = 4000;
const DEFAULT_FETCH_TIMEOUT_MS = 30_000;
const CLIENT_START_TIMEOUT_MS = 10_000;
const CURL_PARALLELISM = 16;
const PROBE_STDOUT_LIMIT = 64 * 1024;
/** Only a backstop: curl's own --max-time is what bounds a probe. */
const CURL_KILL_GRACE_MS = 3000;

interface ProbeUser {
  uuid: string;
  flow?: string;
  /** The client's source address towards the core (127.0.0.2, 127.0.0.3, …). */
  sendThrough?: string;
}

function clientConfig(vlessPort: number, users: ProbeUser[], socksPorts: number[]): object {
  return {
    log: { loglevel: 'warning' },
    inbounds: users.map((_, i) => ({
      tag: `s${i}`,
      listen: LOOPBACK,
      port: socksPorts[i],
      protocol: 'socks',
      settings: { auth: 'noauth', udp: false },
    })),
    outbounds: users.map((user, i) => ({
      tag: `o${i}`,
      protocol: 'vless',
      ...(user.sendThrough !== undefined ? { sendThrough: user.sendThrough } : {}),
      settings: {
        vnext: [
          {
            address: LOOPBACK,
            port: vlessPort,
            users: [
              {
                id: user.uuid,
                encryption: 'none',
                ...(user.flow !== undefined ? { flow: user.flow } : {}),
              },
            ],
          },
        ],
      },
    })),
    routing: {
      rules: users.map((_, i) => ({ type: 'field', inboundTag: [`s${i}`], outboundTag: `o${i}` })),
    },
  };
}

/**
 * One client process serves every key of a probe: starting a v2ray per key
 * would dominate the run time of tests that check hundreds of keys.
 */
async function withProbeClient<T>(
  vlessPort: number,
  users: ProbeUser[],
  fn: (socksPorts: number[]) => Promise<T>,
): Promise<T> {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'keyd-probe-'));
  const output = new OutputRing(300);
  try {
    const socksPorts = await freePorts(users.length);
    const configPath = path.join(dir, 'client.json');
    await writeJson(configPath, clientConfig(vlessPort, users, socksPorts));

    const child = spawn(CORE_BIN, ['-config', configPath], { stdio: ['ignore', 'pipe', 'pipe'] });
    output.attach(child);
    child.on('error', (err) => output.push(`spawn error: ${err.message}`));
    track(child);
    try {
      const aborter = new AbortController();
      const onExit = (): void => aborter.abort(new Error('probe client exited before it was ready'));
      child.once('exit', onExit);
      if (hasExited(child)) onExit();
      try {
        await Promise.all(
          socksPorts.map((port) => waitForTcp(port, CLIENT_START_TIMEOUT_MS, { signal: aborter.signal })),
        );
      } catch (err) {
        aborter.abort(err);
        const reason = err instanceof Error ? err.message : String(err);
        throw new Error(`probe client failed to start: ${reason}\n--- client logs ---\n${output.text()}`);
      } finally {
        child.off('exit', onExit);
      }
      return await fn(socksPorts);
    } finally {
      await stopProcess(child, 1000);
    }
  } finally {
    await fs.rm(dir, { recursive: true, force: true });
  }
}

/*
 * A proxy variable in the environment (NO_PROXY=127.0.0.1 especially) could
 * let curl reach the target directly and report a dead key as working, so
 * curl runs without them and without ~/.curlrc (-q).
 */
function curlEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [key, value] of Object.entries(process.env)) {
    if (!/_proxy$/i.test(key)) env[key] = value;
  }
  return env;
}

interface CurlResult {
  exitCode: number | null;
  stdout: string;
  stderr: string;
  elapsedMs: number;
}

async function runCurl(args: string[], timeoutMs: number): Promise<CurlResult> {
  const started = Date.now();
  const child = spawn('curl', ['-q', ...args], { stdio: ['ignore', 'pipe', 'pipe'], env: curlEnv() });
  track(child);
  let stdout = '';
  let stderr = '';
  child.stdout?.setEncoding('utf8');
  child.stderr?.setEncoding('utf8');
  child.stdout?.on('data', (chunk: string) => {
    if (stdout.length < PROBE_STDOUT_LIMIT) stdout += chunk;
  });
  child.stderr?.on('data', (chunk: string) => {
    if (stderr.length < PROBE_STDOUT_LIMIT) stderr += chunk;
  });
  child.on('error', (err) => {
    stderr += `spawn error: ${err.message}`;
  });
  const closed = new Promise<void>((resolve) => {
    child.once('close', () => resolve());
    child.once('error', () => resolve());
  });
  const backstop = setTimeout(() => {
    stderr += '\n[harness] curl outlived --max-time, SIGKILLed';
    child.kill('SIGKILL');
  }, timeoutMs + CURL_KILL_GRACE_MS);
  try {
    await waitForExit(child);
    await closed;
  } finally {
    clearTimeout(backstop);
  }
  return { exitCode: child.exitCode, stdout, stderr, elapsedMs: Date.now() - started };
}

function socksArgs(socksPort: number, timeoutMs: number): string[] {
  return [
    '--silent',
    '--show-error',
    '--socks5-hostname',
    `${LOOPBACK}:${socksPort}`,
    '--max-time',
    (timeoutMs / 1000).toFixed(3),
  ];
}

async function mapLimit<T, R>(items: T[], limit: number, fn: (item: T, index: number) => Promise<R>): Promise<R[]> {
  const results = new Array<R>(items.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) {
      const index = next++;
      results[index] = await fn(items[index] as T, index);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return results;
}

export interface ProbeTarget {
  url: string;
}

export interface ProbeResult {
  ok: boolean;
  curlExitCode: number | null;
  httpCode: string;
  elapsedMs: number;
  stderr: string;
}

export interface ProbeKeysOptions {
  vlessPort: number;
  uuids: string[];
  target: ProbeTarget;
  timeoutMs?: number;
  flow?: string;
}

const STATUS_MARKER = '\n@@keyd-http-code@@';

/** Same as probeKeys, keeping curl's verdict per key for failure messages. */
export async function probeKeysDetailed(opts: ProbeKeysOptions): Promise<Map<string, ProbeResult>> {
  const timeoutMs = opts.timeoutMs ?? DEFAULT_PROBE_TIMEOUT_MS;
  const uuids = [...new Set(opts.uuids)];
  const results = new Map<string, ProbeResult>();
  if (uuids.length === 0) {
    return results;
  }
  const users = uuids.map((uuid) => ({ uuid, flow: opts.flow }));
  await withProbeClient(opts.vlessPort, users, async (socksPorts) => {
    await mapLimit(uuids, CURL_PARALLELISM, async (uuid, i) => {
      const port = socksPorts[i] as number;
      const res = await runCurl(
        [
          ...socksArgs(port, timeoutMs),
          '--output',
          '-',
          '--write-out',
          `${STATUS_MARKER}%{http_code}`,
          opts.target.url,
        ],
        timeoutMs,
      );
      const markerAt = res.stdout.lastIndexOf(STATUS_MARKER);
      const body = markerAt >= 0 ? res.stdout.slice(0, markerAt) : res.stdout;
      const httpCode = markerAt >= 0 ? res.stdout.slice(markerAt + STATUS_MARKER.length).trim() : '';
      results.set(uuid, {
        ok: res.exitCode === 0 && httpCode === '200' && body === TARGET_OK_BODY,
        curlExitCode: res.exitCode,
        httpCode,
        elapsedMs: res.elapsedMs,
        stderr: res.stderr.trim(),
      });
    });
  });
  return results;
}

export async function probeKeys(opts: ProbeKeysOptions): Promise<Map<string, boolean>> {
  const detailed = await probeKeysDetailed(opts);
  return new Map([...detailed].map(([uuid, result]) => [uuid, result.ok]));
}

export interface ProbeKeyOptions {
  vlessPort: number;
  uuid: string;
  target: ProbeTarget;
  timeoutMs?: number;
  flow?: string;
}

export async function probeKey(opts: ProbeKeyOptions): Promise<boolean> {
  const results = await probeKeys({
    vlessPort: opts.vlessPort,
    uuids: [opts.uuid],
    target: opts.target,
    timeoutMs: opts.timeoutMs,
    flow: opts.flow,
  });
  return results.get(opts.uuid) === true;
}

export interface FetchThroughKeyOptions {
  vlessPort: number;
  uuid: string;
  url: string;
  /** Defaults to 30 s: unlike a probe, this may move tens of MiB. */
  timeoutMs?: number;
  flow?: string;
  /** Throttles the download (curl --limit-rate) to keep a connection open while a test acts on it. */
  limitRateBytesPerSec?: number;
}

export interface FetchResult {
  ok: boolean;
  bytes: number;
}

/** ok means curl finished with HTTP 200; bytes counts body bytes received even when it did not. */
export async function fetchThroughKey(opts: FetchThroughKeyOptions): Promise<FetchResult> {
  const timeoutMs = opts.timeoutMs ?? DEFAULT_FETCH_TIMEOUT_MS;
  return withProbeClient(opts.vlessPort, [{ uuid: opts.uuid, flow: opts.flow }], async ([port]) => {
    const res = await runCurl(
      [
        ...socksArgs(port as number, timeoutMs),
        '--output',
        '/dev/null',
        '--write-out',
        '%{http_code} %{size_download}',
        ...(opts.limitRateBytesPerSec !== undefined ? ['--limit-rate', String(opts.limitRateBytesPerSec)] : []),
        opts.url,
      ],
      timeoutMs,
    );
    const [httpCode = '', size = '0'] = res.stdout.trim().split(/\s+/);
    const bytes = Number(size);
    return {
      ok: res.exitCode === 0 && httpCode === '200',
      bytes: Number.isFinite(bytes) ? bytes : 0,
    };
  });
}

export interface StreamOptions {
  vlessPort: number;
  uuid: string;
  url: string;
  sendThrough?: string;
}

/** A download running through a key until it ends on its own or is stopped. */
export class Stream {
  private received = 0;
  private done = false;

  constructor(
    private readonly client: ChildProcess,
    private readonly curl: ChildProcess,
    private readonly dir: string,
  ) {
    curl.stdout?.on('data', (chunk: Buffer) => (this.received += chunk.length));
    curl.once('exit', () => (this.done = true));
  }

  get bytes(): number {
    return this.received;
  }

  get ended(): boolean {
    return this.done;
  }

  /** True when at least `min` more bytes arrive within the time; false when the stream ended or stalled. */
  async flows(min = 16 * 1024, withinMs = 3000): Promise<boolean> {
    const start = this.received;
    const until = Date.now() + withinMs;
    while (Date.now() < until) {
      if (this.received - start >= min) return true;
      if (this.done) return false;
      await new Promise((r) => setTimeout(r, 50));
    }
    return false;
  }

  /**
   * True when no byte arrives after `ms` from now: the bytes are read at that
   * deadline and must not grow during `quietMs` more. A cut connection leaves
   * the local client idle rather than closed, so silence is what shows it.
   */
  async stoppedWithin(ms: number, quietMs = 1500): Promise<boolean> {
    await new Promise((r) => setTimeout(r, ms));
    const at = this.received;
    await new Promise((r) => setTimeout(r, quietMs));
    return this.received === at;
  }

  async stop(): Promise<void> {
    await stopProcess(this.curl, 1000);
    await stopProcess(this.client, 1000);
    await fs.rm(this.dir, { recursive: true, force: true });
  }
}

/** Starts a VLESS client for one key and curl downloading through it; resolves once curl is running. */
export async function startStream(opts: StreamOptions): Promise<Stream> {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'keyd-stream-'));
  const [socksPort] = (await freePorts(1)) as [number];
  const configPath = path.join(dir, 'client.json');
  await writeJson(
    configPath,
    clientConfig(opts.vlessPort, [{ uuid: opts.uuid, sendThrough: opts.sendThrough }], [socksPort]),
  );
  const client = track(spawn(CORE_BIN, ['-config', configPath], { stdio: ['ignore', 'ignore', 'ignore'] }));
  await waitForTcp(socksPort, CLIENT_START_TIMEOUT_MS);
  const curl = track(
    spawn(
      'curl',
      ['-q', '--silent', '--no-buffer', '--socks5-hostname', `${LOOPBACK}:${socksPort}`, '--output', '-', opts.url],
      {
        stdio: ['ignore', 'pipe', 'ignore'],
        env: curlEnv(),
      },
    ),
  );
  return new Stream(client, curl, dir);
}
