import { z } from 'zod/v4';
import { InvalidArgumentError, KEY_STATUSES, LIMIT_RESETS, LimitReset } from '@keyd/domain';

/*
 * One zod schema per command, named by the wire (proto and JSON) field names.
 * The services parse their input with these, and the admin API's OpenAPI
 * document is generated from them (openApiSchema), so a rule lives in one place.
 */

export const MAX_OWNER_LENGTH = 128;
/** Ten years: anything longer is a unit mistake (milliseconds sent as seconds), not a plan. */
export const MAX_DURATION_SECONDS = 10 * 366 * 86_400;
export const MAX_DEVICE_LIMIT = 256;
export const DEFAULT_PAGE_SIZE = 100;
export const MAX_PAGE_SIZE = 1000;

const CONTROL = /\p{Cc}|\p{Cs}/u;
/**
 * Characters that change how text around them is shown without showing
 * themselves: bidirectional embeddings, overrides, isolates and marks, and the
 * zero-width ones. With them two different owner ids could look the same.
 */
const INVISIBLE = /[\u061C\u180E\u200B-\u200F\u202A-\u202E\u2060-\u2064\u2066-\u206F\uFEFF]/u;

/**
 * The owner id in NFC, so that one name typed with composed or decomposed
 * accents is one owner. Its length counts code points, as JSON Schema's
 * maxLength does.
 */
export const ownerIdSchema = z
  .string({ error: 'is required' })
  .min(1, 'is required')
  .superRefine((raw, ctx) => {
    const value = raw.normalize('NFC');
    const problem =
      value.trim() === ''
        ? 'is required'
        : INVISIBLE.test(value)
          ? 'must not contain bidirectional-control or zero-width characters'
          : [...value].length > MAX_OWNER_LENGTH
            ? `must be at most ${MAX_OWNER_LENGTH} characters`
            : CONTROL.test(value)
              ? 'must not contain control characters'
              : value !== value.trim()
                ? 'must not start or end with white space'
                : undefined;
    if (problem) ctx.addIssue({ code: 'custom', message: problem });
  })
  .meta({ maxLength: MAX_OWNER_LENGTH, example: 'user-42' })
  .transform((value) => value.normalize('NFC'));

/**
 * A whole number sent as a JSON number or, as JSON clients often send 64-bit
 * fields, as a string of digits; `rule` holds the range.
 */
function wholeNumber(rule: z.ZodNumber, typeMessage: string) {
  return z.union(
    [
      rule,
      z
        .string()
        .regex(/^-?\d{1,16}$/)
        .transform(Number)
        .pipe(rule),
    ],
    { error: typeMessage },
  );
}

const durationSecondsRule = wholeNumber(
  z
    .int({ error: 'must be a whole number of seconds' })
    .min(1, 'must be positive')
    .max(MAX_DURATION_SECONDS, `must be at most ${MAX_DURATION_SECONDS} (ten years)`),
  'must be a whole number of seconds',
).meta({ description: 'Seconds of access to add', example: 2_592_000 });

const DATA_LIMIT_MESSAGE = 'must be a whole number of bytes, 0 or more (0 means unlimited)';
const dataLimitBytesRule = wholeNumber(
  z.int({ error: DATA_LIMIT_MESSAGE }).min(0, DATA_LIMIT_MESSAGE).max(Number.MAX_SAFE_INTEGER, DATA_LIMIT_MESSAGE),
  DATA_LIMIT_MESSAGE,
);

const DEVICE_LIMIT_MESSAGE = `must be a whole number from 0 to ${MAX_DEVICE_LIMIT} (0 means unlimited)`;
const deviceLimitRule = wholeNumber(
  z.int({ error: DEVICE_LIMIT_MESSAGE }).min(0, DEVICE_LIMIT_MESSAGE).max(MAX_DEVICE_LIMIT, DEVICE_LIMIT_MESSAGE),
  DEVICE_LIMIT_MESSAGE,
);

const requestIdRule = z
  .string()
  .regex(/^[A-Za-z0-9._:-]{1,128}$/, 'must be 1-128 letters, digits or . _ : -')
  .meta({ description: 'Idempotency key: a retry returns the first result', example: 'order-9001' });

export const nodeGroupSchema = z
  .string()
  .regex(/^[A-Za-z0-9._-]{1,64}$/, 'must be 1-64 letters, digits or . _ -')
  .meta({ description: 'The node group of a newly issued key; a renewal keeps it', example: 'default' });

/** Plain names, and the gRPC enum names that the core's clients send; both mean the same reset. */
const limitResetRule = z
  .enum([...LIMIT_RESETS, ...LIMIT_RESETS.map((r) => `LIMIT_RESET_${r.toUpperCase()}`)], {
    error: `must be one of ${LIMIT_RESETS.join(', ')}`,
  })
  .transform((name) => name.replace(/^LIMIT_RESET_/, '').toLowerCase() as LimitReset)
  .meta({ description: 'When usage returns to zero (UTC). Omitted: kept' });

const keyStatusRule = z.enum(KEY_STATUSES, { error: `must be one of ${KEY_STATUSES.join(', ')}` });

const PAGE_SIZE_MESSAGE = `must be 0-${MAX_PAGE_SIZE} (0 means ${DEFAULT_PAGE_SIZE})`;
/** 0 is proto3's unset value: the default page size. */
const pageSizeRule = wholeNumber(
  z.int({ error: PAGE_SIZE_MESSAGE }).min(0, PAGE_SIZE_MESSAGE).max(MAX_PAGE_SIZE, PAGE_SIZE_MESSAGE),
  PAGE_SIZE_MESSAGE,
).meta({ description: `Keys per page; 0 or omitted: ${DEFAULT_PAGE_SIZE}` });

/** Page tokens are opaque to callers: the last id seen, base64url-encoded. */
export function encodePageToken(lastId: number): string {
  return Buffer.from(`k:${lastId}`).toString('base64url');
}

const pageTokenRule = z.string().transform((token, ctx) => {
  const m = /^k:(\d{1,15})$/.exec(Buffer.from(token, 'base64url').toString());
  if (m) return Number(m[1]);
  ctx.addIssue({ code: 'custom', message: 'is not a token this server issued' });
  return z.NEVER;
});

export const grantSchema = z.object({
  owner_id: ownerIdSchema,
  duration_seconds: durationSecondsRule,
  request_id: requestIdRule.optional(),
  data_limit_bytes: dataLimitBytesRule
    .meta({
      description:
        'Bytes (uplink plus downlink) per usage period, 0 for unlimited. Omitted: a renewal keeps the limit, a key replacing an expired one inherits it',
      example: 107_374_182_400,
    })
    .optional(),
  data_limit_reset: limitResetRule.optional(),
  device_limit: deviceLimitRule
    .meta({
      description:
        'Client addresses that may use the key at once, 0 for unlimited. Omitted: a renewal keeps it, a key replacing an expired one inherits it',
      example: 3,
    })
    .optional(),
  node_group: nodeGroupSchema.optional(),
});

export const dataLimitSchema = z.object({
  data_limit_bytes: dataLimitBytesRule.meta({ description: '0 means unlimited', example: 1_073_741_824 }),
  data_limit_reset: limitResetRule.optional(),
});

export const deviceLimitSchema = z.object({
  device_limit: deviceLimitRule.meta({ description: '0 means unlimited', example: 2 }),
});

export const listKeysSchema = z.object({
  status: keyStatusRule.optional(),
  page_size: pageSizeRule.optional(),
  page_token: pageTokenRule.optional(),
});

/** Proto3 sends every unset field as its default, so a blank value and an unspecified enum mean "not given". */
const UNSET = new Set<unknown>([undefined, null, '', 'LIMIT_RESET_UNSPECIFIED', 'KEY_STATUS_UNSPECIFIED']);

const withoutUnset = (raw: Record<string, unknown>): Record<string, unknown> =>
  Object.fromEntries(Object.entries(raw).filter(([, value]) => !UNSET.has(value)));

/** The message of the rule that failed: within a union, the range rather than the type that did not match. */
function reasonOf(issue: z.core.$ZodIssue, given: unknown): string {
  if (given === undefined && (issue.code === 'invalid_type' || issue.code === 'invalid_union')) return 'is required';
  if (issue.code === 'invalid_union') {
    const rule = issue.errors.flat().find((i) => i.code === 'too_small' || i.code === 'too_big' || i.code === 'custom');
    if (rule) return rule.message;
  }
  return issue.message;
}

/**
 * Parses one command with its schema; the first broken rule becomes an
 * InvalidArgumentError naming its field.
 */
export function parseCommand<S extends z.ZodObject>(schema: S, raw: Record<string, unknown>): z.output<S> {
  const given = withoutUnset(raw);
  const result = schema.safeParse(given);
  if (result.success) return result.data;
  const issue = result.error.issues[0];
  const top = String(issue.path[0]);
  // A nested field is named by its path, as in link.security.
  throw new InvalidArgumentError(issue.path.map(String).join('.'), reasonOf(issue, given[top]));
}

/** The JSON Schema of what a command accepts, for the OpenAPI document. */
export function openApiSchema(schema: z.ZodType): Record<string, unknown> {
  const document = z.toJSONSchema(schema, { io: 'input', target: 'draft-7' }) as Record<string, unknown>;
  // OpenAPI 3.0 names its own dialect; a JSON Schema $schema inside it is not allowed.
  delete document['$schema'];
  return document;
}

/** Wrapping objects by rule and name: building a zod schema costs far more than parsing with one, and an import checks every row. */
const fieldObjects = new Map<z.ZodType, Map<string, z.ZodObject>>();

/** One field checked on its own, for inputs that are not a whole command (a path parameter, an import row). */
function field<T>(schema: z.ZodType<T>, name: string, value: unknown): T {
  let byName = fieldObjects.get(schema);
  if (!byName) fieldObjects.set(schema, (byName = new Map()));
  let object = byName.get(name);
  if (!object) byName.set(name, (object = z.object({ [name]: schema })));
  return parseCommand(object, { [name]: value })[name] as T;
}

const optionalDataLimitBytes = dataLimitBytesRule.optional();
const optionalLimitReset = limitResetRule.optional();

export const ownerId = (value: unknown, name = 'owner_id'): string => field(ownerIdSchema, name, value);

/** Undefined when not given; 0 means unlimited. */
export const dataLimitBytes = (value: unknown, name = 'data_limit_bytes'): number | undefined =>
  field(optionalDataLimitBytes, name, value);

/** Undefined when not given. */
export const limitReset = (value: unknown, name = 'data_limit_reset'): LimitReset | undefined =>
  field(optionalLimitReset, name, value);

export class RequestIdReusedError extends InvalidArgumentError {
  constructor() {
    super('request_id', 'was already used for a different grant');
  }
}
