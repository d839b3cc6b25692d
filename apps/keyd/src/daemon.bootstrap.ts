import 'reflect-metadata';
import { NestFactory } from '@nestjs/core';
import { NestExpressApplication } from '@nestjs/platform-express';
import { MicroserviceOptions } from '@nestjs/microservices';
import {
  GRPC_LOADER_OPTIONS,
  GRPC_PACKAGES,
  GrpcListenerServer,
  grpcProtoFiles,
  setupOpenApi,
  warnAboutPlaintextTokens,
} from '@keyd/api';
import { ConfigError, KeydConfig, loadConfig } from '@keyd/config';
import {
  AppLogger,
  capHeapGrowth,
  createLogger,
  hardenHttpServer,
  installProcessGuards,
  NestPinoLogger,
  tolerateMalformedRequests,
} from '@keyd/observability';
import { AppModule } from './app.module';

async function startControlPlane(app: NestExpressApplication, config: KeydConfig, logger: AppLogger): Promise<void> {
  setupOpenApi(app);
  app.connectMicroservice<MicroserviceOptions>(
    {
      strategy: new GrpcListenerServer(
        {
          package: GRPC_PACKAGES,
          protoPath: grpcProtoFiles(),
          loader: GRPC_LOADER_OPTIONS,
          onLoadPackageDefinition: (definition) =>
            tolerateMalformedRequests(definition as unknown as Record<string, unknown>),
        },
        config.grpc,
        logger,
      ),
    },
    // Without it the app-wide exception filter would not reach the gRPC handlers.
    { inheritAppConfig: true },
  );
  await app.startAllMicroservices();
  await app.listen(config.http.listen.port, config.http.listen.host);
  warnAboutPlaintextTokens(config, logger);
}

/** An agent serves health and metrics only; its link to the control plane is a client. */
async function startAgent(app: NestExpressApplication, config: KeydConfig): Promise<void> {
  await app.listen(config.http.listen.port, config.http.listen.host);
}

async function bootstrap(config: KeydConfig): Promise<void> {
  capHeapGrowth(config.memory.heapGrowthPercent);
  const logger = createLogger(config.log.level);
  installProcessGuards(logger);
  const app = await NestFactory.create<NestExpressApplication>(AppModule.create(config, logger), {
    logger: new NestPinoLogger(logger),
    bodyParser: false,
  });
  app.useBodyParser('json', { limit: config.http.bodyLimitBytes });
  app.disable('x-powered-by');
  hardenHttpServer(app.getHttpServer(), { maxConnections: config.http.maxConnections });
  if (config.fleet.role === 'agent') await startAgent(app, config);
  else await startControlPlane(app, config, logger);
  // Nest's own shutdown hooks re-raise the signal after cleanup; a clean stop should exit 0.
  let stopping = false;
  const stop = (signal: NodeJS.Signals) => {
    logger.info({ signal }, 'stopping');
    if (stopping) return;
    stopping = true;
    app
      .close()
      .then(() => process.exit(0))
      .catch((e: unknown) => {
        logger.error({ err: e }, 'shutdown failed');
        process.exit(1);
      });
  };
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
  logger.info(
    {
      role: config.fleet.role,
      grpc: config.fleet.role === 'agent' ? undefined : config.grpc.listen,
      http: config.http.listen,
      core: config.core.apiAddr,
      flavor: config.core.flavor,
      db: config.db.path,
    },
    'keyd started',
  );
}

/** `keyd serve`: exits 2 on a bad variable, 1 when the daemon cannot start. */
export async function serve(): Promise<void> {
  let config: KeydConfig;
  try {
    config = loadConfig();
  } catch (e) {
    process.stderr.write(`${e instanceof ConfigError ? e.message : String(e)}\n`);
    process.exit(2);
  }
  await bootstrap(config).catch((e: unknown) => {
    process.stderr.write(`keyd failed to start: ${e instanceof Error ? e.message : String(e)}\n`);
    process.exit(1);
  });
}
