import Ajv from 'ajv';
import Ajv2020 from 'ajv/dist/2020';
import addFormats from 'ajv-formats';
import singBoxSchema from '@black-duty/sing-box-schema/schema.json';
import mihomoSchema from './mihomo-schema/meta-json-schema.json';

/** The schema names its definitions with zod's `id`, which draft 2020-12 spells `$id`; ajv refuses the old spelling. */
function withoutIds(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(withoutIds);
  if (value === null || typeof value !== 'object') return value;
  return Object.fromEntries(
    Object.entries(value)
      .filter(([k, v]) => !(k === 'id' && typeof v === 'string'))
      .map(([k, v]) => [k, withoutIds(v)]),
  );
}

export interface SchemaCheck {
  valid: boolean;
  errors: string[];
}

function checker(validate: ((doc: unknown) => boolean) & { errors?: unknown }): (doc: unknown) => SchemaCheck {
  return (doc) => {
    const valid = validate(doc);
    const errors = ((validate.errors ?? []) as { instancePath: string; message?: string }[]).map(
      (e) => `${e.instancePath || '/'} ${e.message ?? ''}`,
    );
    return { valid, errors: valid ? [] : errors };
  };
}

const singBoxAjv = new Ajv2020({ strict: false, allErrors: true, logger: false });
addFormats(singBoxAjv);
/** sing-box's configuration schema as published in @black-duty/sing-box-schema (sing-box 1.12). */
export const checkSingBox = checker(singBoxAjv.compile(withoutIds(singBoxSchema) as object));

const mihomoAjv = new Ajv({ strict: false, allErrors: true, logger: false });
addFormats(mihomoAjv);
/** Clash Meta (mihomo) configuration schema of the meta-json-schema project (MIT, copied beside this file). */
export const checkClash = checker(mihomoAjv.compile(mihomoSchema as object));
