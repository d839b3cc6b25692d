/** A field as proto-loader describes it (its DescriptorProto, with enums as names). */
interface FieldDescriptor {
  number: number;
  label: string;
  type: string;
  typeName: string;
}

/** A message's DescriptorProto, as proto-loader gives it. */
export interface MessageDescriptor {
  field?: FieldDescriptor[];
}

/** A message type in a proto-loader package definition, or a method's request type. */
export interface MessageDefinition {
  format: string;
  type: MessageDescriptor;
}

/** The wire type each field type is written with. */
const WIRE_TYPE: Record<string, number> = {
  TYPE_DOUBLE: 1,
  TYPE_FIXED64: 1,
  TYPE_SFIXED64: 1,
  TYPE_FLOAT: 5,
  TYPE_FIXED32: 5,
  TYPE_SFIXED32: 5,
  TYPE_INT32: 0,
  TYPE_INT64: 0,
  TYPE_UINT32: 0,
  TYPE_UINT64: 0,
  TYPE_SINT32: 0,
  TYPE_SINT64: 0,
  TYPE_BOOL: 0,
  TYPE_ENUM: 0,
  TYPE_STRING: 2,
  TYPE_BYTES: 2,
  TYPE_MESSAGE: 2,
};
const LENGTH_DELIMITED = 2;
const MAX_DEPTH = 32;

interface Field {
  wireTypes: Set<number>;
  /** The full name of the message a length-delimited field holds, checked in turn. */
  message?: string;
}

export class WireFormatError extends Error {}

/**
 * protobufjs decodes a known field by its declared type whatever wire type its
 * tag says, so bytes with a tag no encoder writes (field 1 with wire type 7,
 * say) decode into a plausible request. The checker walks the bytes first and
 * refuses a reserved or group wire type, field number 0, and a length or
 * varint that runs past the end, as Google's parsers do; and, stricter than
 * they are (they would skip it as an unknown field), a known field sent with a
 * wire type its type is never written with. keyd's own fields never change
 * type, so no client of this API writes one.
 */
export class WireFormatChecker {
  private readonly byName = new Map<string, MessageDescriptor>();
  private readonly compiled = new Map<string, Map<number, Field>>();

  constructor(definition: Record<string, unknown>) {
    for (const [name, value] of Object.entries(definition)) {
      const m = value as MessageDefinition | undefined;
      if (m && typeof m === 'object' && typeof m.format === 'string' && m.format.includes('DescriptorProto'))
        this.byName.set(name, m.type);
    }
  }

  /**
   * The check for a method's requests, found from its service as protoc
   * resolves the name; undefined for a type the definition doesn't hold.
   */
  forMethod(
    service: string,
    requestType: MessageDescriptor & { name?: string },
  ): ((bytes: Uint8Array) => void) | undefined {
    const name = requestType.name === undefined ? undefined : this.resolve(requestType.name, service);
    if (name === undefined) return undefined;
    return (bytes) => this.walk(name, bytes, 0, bytes.length, 0);
  }

  /** A type name as written in a .proto, looked up from the innermost scope outwards. */
  private resolve(typeName: string, scope: string): string | undefined {
    if (typeName.startsWith('.')) return this.byName.has(typeName.slice(1)) ? typeName.slice(1) : undefined;
    for (let parts = scope.split('.'); ; parts.pop()) {
      const candidate = [...parts, typeName].join('.');
      if (this.byName.has(candidate)) return candidate;
      if (!parts.length) return undefined;
    }
  }

  private fieldsOf(name: string): Map<number, Field> {
    let fields = this.compiled.get(name);
    if (fields) return fields;
    fields = new Map();
    for (const f of this.byName.get(name)?.field ?? []) {
      const wire = WIRE_TYPE[f.type];
      if (wire === undefined) continue;
      const wireTypes = new Set([wire]);
      // A repeated scalar may come packed.
      if (f.label === 'LABEL_REPEATED' && wire !== LENGTH_DELIMITED) wireTypes.add(LENGTH_DELIMITED);
      fields.set(f.number, {
        wireTypes,
        message: f.type === 'TYPE_MESSAGE' ? this.resolve(f.typeName, name) : undefined,
      });
    }
    this.compiled.set(name, fields);
    return fields;
  }

  private walk(type: string, bytes: Uint8Array, start: number, end: number, depth: number): void {
    if (depth > MAX_DEPTH) throw new WireFormatError('messages nested too deep');
    const fields = this.fieldsOf(type);
    let i = start;
    while (i < end) {
      const [tag, afterTag] = varint(bytes, i, end);
      const number = Math.floor(tag / 8);
      const wire = tag % 8;
      if (number === 0) throw new WireFormatError(`field number 0 at byte ${i}`);
      const field = fields.get(number);
      if (field && !field.wireTypes.has(wire)) throw new WireFormatError(`field ${number} has wire type ${wire}`);
      i = afterTag;
      switch (wire) {
        case 0:
          i = varint(bytes, i, end)[1];
          break;
        case 1:
          i += 8;
          break;
        case 5:
          i += 4;
          break;
        case LENGTH_DELIMITED: {
          const [length, from] = varint(bytes, i, end);
          i = from + length;
          if (i > end) break;
          if (field?.message !== undefined) this.walk(field.message, bytes, from, i, depth + 1);
          break;
        }
        default:
          throw new WireFormatError(`field ${number} has wire type ${wire}, which proto3 never writes`);
      }
      if (i > end) throw new WireFormatError(`field ${number} runs past the end of the message`);
    }
  }
}

/** A base-128 varint at i and the offset after it; a value past 2^53 is imprecise but only ever compared or skipped. */
function varint(bytes: Uint8Array, i: number, end: number): [number, number] {
  let value = 0;
  let scale = 1;
  for (let n = 0; n < 10; n++) {
    if (i >= end) throw new WireFormatError('a varint runs past the end of the message');
    const b = bytes[i++];
    value += (b & 0x7f) * scale;
    if (b < 0x80) return [value, i];
    scale *= 128;
  }
  throw new WireFormatError('a varint longer than 10 bytes');
}
