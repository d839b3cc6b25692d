import { Controller, Get, HttpCode, Res } from '@nestjs/common';
import { Response } from 'express';
import { Readiness } from '@keyd/observability';

@Controller()
export class HealthHttpController {
  constructor(private readonly readiness: Readiness) {}

  /** Liveness: the process answers. */
  @Get('healthz')
  @HttpCode(200)
  healthz() {
    return { status: 'ok' };
  }

  /** Readiness: the startup pass ran, the store works and the core is within its grace. */
  @Get('readyz')
  readyz(@Res() res: Response) {
    const state = this.readiness.state();
    res
      .status(state.ready ? 200 : 503)
      .json(state.ready ? { status: 'ready' } : { status: 'not_ready', reason: state.reason });
  }
}
