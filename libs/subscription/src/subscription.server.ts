import { createServer, IncomingMessage, Server, ServerResponse } from 'node:http';
import { Inject, Injectable, OnApplicationBootstrap, OnApplicationShutdown } from '@nestjs/common';
import { KEYD_CONFIG, KeydConfig } from '@keyd/config';
import { AppLogger, ClientAddresses, clientKey, hardenHttpServer, LOGGER } from '@keyd/observability';
import { RateLimiter } from './rate.limiter';
import { chooseFormat } from './format.selector';
import { RenderedSubscription, renderSubscription } from './subscription.renderer';
import { SUBSCRIPTION_LOOKUP, SubscriptionKey, SubscriptionLookup } from './subscription.types';

const TOKEN = /^\/sub\/([A-Za-z0-9_-]{16,128})$/;
/** A subscription request is a short line and a few headers; anything larger is refused with 431. */
const MAX_HEADER_BYTES = 8 * 1024;

/** Rendered on a miss as well, so that a miss costs what a hit costs. */
const DECOY: SubscriptionKey = {
  ownerId: 'decoy',
  uuid: '00000000-0000-4000-8000-000000000000',
  flow: '',
  status: 'ACTIVE',
  subscriptionEnd: new Date(0),
  nodes: [
    {
      link: 'vless://00000000-0000-4000-8000-000000000000@example.invalid:443?type=tcp&security=none#decoy',
      remark: 'decoy',
      host: 'example.invalid',
      port: 443,
      security: 'none',
      transport: 'tcp',
      serverName: '',
      fingerprint: '',
    },
  ],
  uploadBytes: 0,
  downloadBytes: 0,
  totalBytes: 0,
};

/**
 * The public endpoint VPN client apps refresh: `GET /sub/{token}`. It runs on
 * its own listener, apart from the admin API, and knows nothing but tokens:
 * no auth, no listing, and the same 404 for every miss.
 */
@Injectable()
export class SubscriptionServer implements OnApplicationBootstrap, OnApplicationShutdown {
  private server?: Server;
  private readonly limiter: RateLimiter;
  private readonly clients: ClientAddresses;

  constructor(
    @Inject(SUBSCRIPTION_LOOKUP) private readonly lookup: SubscriptionLookup,
    @Inject(KEYD_CONFIG) private readonly config: Pick<KeydConfig, 'subscription'>,
    @Inject(LOGGER) private readonly log: AppLogger,
  ) {
    const { ratePerMinute, rateBurst } = config.subscription;
    this.limiter = new RateLimiter(ratePerMinute, rateBurst);
    this.clients = new ClientAddresses(config.subscription.trustedProxies);
  }

  async onApplicationBootstrap(): Promise<void> {
    const { listen, maxConnections, maxConnectionsPerClient } = this.config.subscription;
    const { host, port } = listen;
    this.server = createServer({ maxHeaderSize: MAX_HEADER_BYTES }, (req, res) => {
      this.handle(req, res).catch((e: unknown) => this.fail(res, e));
    });
    hardenHttpServer(this.server, {
      maxConnections,
      maxConnectionsPerClient,
      exempt: (address) => this.clients.isTrustedProxy(address),
    });
    await new Promise<void>((resolve, reject) => {
      this.server?.once('error', reject);
      this.server?.listen(port, host, () => resolve());
    });
    this.log.info({ listen: `${host}:${port}` }, 'subscription endpoint listening');
  }

  async onApplicationShutdown(): Promise<void> {
    const server = this.server;
    if (!server) return;
    await new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeIdleConnections();
    });
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const { path, query } = splitTarget(req.url);
    const match = TOKEN.exec(path);
    if ((req.method !== 'GET' && req.method !== 'HEAD') || !match) return this.end(res, 404);
    if (!this.limiter.take(clientKey(this.clients.of(req)))) {
      res.setHeader('Retry-After', '60');
      return this.end(res, 429);
    }
    let key: SubscriptionKey | null;
    try {
      key = await this.lookup.findByToken(match[1]);
    } catch (e) {
      this.log.error({ err: e }, 'subscription lookup failed');
      return this.end(res, 503);
    }
    const { updateIntervalHours, title, publicUrl } = this.config.subscription;
    let rendered: RenderedSubscription;
    try {
      rendered = await renderSubscription(key ?? DECOY, {
        format: chooseFormat(req.headers['user-agent'], query.get('format')),
        updateIntervalHours,
        title,
        subscriptionUrl: `${publicUrl}/sub/${match[1]}`,
        now: new Date(),
      });
    } catch (e) {
      this.log.error({ err: e }, 'subscription rendering failed');
      return this.end(res, key ? 500 : 404);
    }
    if (!key) return this.end(res, 404);
    res.writeHead(rendered.status, rendered.headers);
    res.end(req.method === 'HEAD' ? undefined : rendered.body);
  }

  /** One bad request never reaches the process: it is logged and answered, or its socket closed. */
  private fail(res: ServerResponse, e: unknown): void {
    // The message only: an error's own fields (a TypeError's `input`) can carry the token from the path.
    this.log.error({ err: e instanceof Error ? e.message : String(e) }, 'subscription request failed');
    if (res.headersSent) res.destroy();
    else this.end(res, 500);
  }

  private end(res: ServerResponse, status: number): void {
    res.writeHead(status, { 'Content-Type': 'text/plain; charset=utf-8', 'Cache-Control': 'no-store' });
    res.end();
  }
}

/**
 * The request target as sent, split without URL parsing: a target such as
 * `//x:99999` is not a valid URL, and a client must not be able to make the
 * parser throw.
 */
function splitTarget(target = '/'): { path: string; query: URLSearchParams } {
  const q = target.indexOf('?');
  return q < 0
    ? { path: target, query: new URLSearchParams() }
    : { path: target.slice(0, q), query: new URLSearchParams(target.slice(q + 1)) };
}
