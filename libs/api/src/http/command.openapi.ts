import { applyDecorators } from '@nestjs/common';
import { ApiBodyOptions, ApiQuery } from '@nestjs/swagger';
import { SchemaObject } from '@nestjs/swagger/dist/interfaces/open-api-spec.interface';
import { openApiSchema } from '@keyd/keys';
import { z } from 'zod/v4';

/** The request body of a command, as its schema in @keyd/keys accepts it. */
export function commandBody(schema: z.ZodObject): ApiBodyOptions {
  return { schema: openApiSchema(schema) as SchemaObject };
}

/** One query parameter per field of a command's schema, each with that field's rules. */
export function commandQuery(schema: z.ZodObject): MethodDecorator & ClassDecorator {
  const document = openApiSchema(schema) as { properties: Record<string, SchemaObject>; required?: string[] };
  return applyDecorators(
    ...Object.entries(document.properties).map(([name, field]) =>
      ApiQuery({ name, required: document.required?.includes(name) ?? false, schema: field }),
    ),
  );
}
