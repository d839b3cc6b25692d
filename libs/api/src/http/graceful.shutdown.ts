import { BeforeApplicationShutdown, Inject, Injectable } from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import { Server } from 'node:http';
import { AppLogger, InFlight, LOGGER } from '@keyd/observability';

const DRAIN_TIMEOUT_MS = 10_000;

/** On shutdown: stop taking HTTP connections, then wait for requests in flight on both transports. */
@Injectable()
export class GracefulShutdown implements BeforeApplicationShutdown {
  constructor(
    private readonly adapter: HttpAdapterHost,
    private readonly inFlight: InFlight,
    @Inject(LOGGER) private readonly log: AppLogger,
  ) {}

  async beforeApplicationShutdown(signal?: string): Promise<void> {
    const server = this.adapter.httpAdapter?.getHttpServer() as Server | undefined;
    server?.close();
    server?.closeIdleConnections();
    this.log.info({ signal, in_flight: this.inFlight.current }, 'shutting down: draining requests');
    if (!(await this.inFlight.drained(DRAIN_TIMEOUT_MS)))
      this.log.warn({ in_flight: this.inFlight.current }, 'requests still in flight after the drain timeout');
  }
}
