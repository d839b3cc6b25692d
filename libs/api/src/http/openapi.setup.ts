import { INestApplication } from '@nestjs/common';
import { DocumentBuilder, SwaggerModule } from '@nestjs/swagger';

/** The OpenAPI document at /openapi.json, generated from the controllers, and a browsable UI at /docs. */
export function setupOpenApi(app: INestApplication): void {
  const config = new DocumentBuilder()
    .setTitle('keyd admin API')
    .setDescription('Grant, read, list and revoke VLESS keys; reconcile the core; read the daemon status.')
    .setVersion('1')
    .addBearerAuth({ type: 'http', scheme: 'bearer', description: 'KEYD_ADMIN_TOKEN' })
    .build();
  const document = SwaggerModule.createDocument(app, config);
  SwaggerModule.setup('docs', app, document, { jsonDocumentUrl: 'openapi.json', yamlDocumentUrl: 'openapi.yaml' });
}
