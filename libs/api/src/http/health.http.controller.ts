import { Controller, Get, Header, HttpCode, Res } from '@nestjs/common';
import { ApiExcludeController } from '@nestjs/swagger';
import { Response } from 'express';
import { Metrics, Readiness } from '@keyd/observability';
import { StoreHealth } from '@keyd/store';

/** Unauthenticated probes for orchestrators and Prometheus. */
@ApiExcludeController()
@Controller()
export class HealthHttpController {
  constructor(
    private readonly readiness: Readiness,
    private readonly metrics: Metrics,
    private readonly store: StoreHealth,
  ) {}

  /** Liveness: the process answers. */
  @Get('healthz')
  @HttpCode(200)
  healthz() {
    return { status: 'ok' };
  }

  /** Readiness: the startup pass ran, the store answers and the core is within its grace. */
  @Get('readyz')
  async readyz(@Res() res: Response) {
    this.readiness.storeUsable(await this.store.check());
    const state = this.readiness.state();
    res
      .status(state.ready ? 200 : 503)
      .json(state.ready ? { status: 'ready' } : { status: 'not_ready', reason: state.reason });
  }

  @Get('metrics')
  @Header('Cache-Control', 'no-store')
  async metricsText(@Res() res: Response) {
    res.type(this.metrics.registry.contentType).send(await this.metrics.registry.metrics());
  }
}
