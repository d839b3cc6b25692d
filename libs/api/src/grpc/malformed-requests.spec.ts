import * as protoLoader from '@grpc/proto-loader';
import fc from 'fast-check';
import { GRPC_LOADER_OPTIONS, grpcProtoFiles } from './grpc.options';
import { MessageDefinition, WireFormatChecker, WireFormatError } from '@keyd/observability';

const definition = protoLoader.loadSync(grpcProtoFiles(), GRPC_LOADER_OPTIONS) as unknown as Record<
  string,
  MessageDefinition & { serialize: (v: unknown) => Buffer }
>;
const checker = new WireFormatChecker(definition);
const type = (name: string) => definition[name] as MessageDefinition & { serialize: (v: unknown) => Buffer };
const grant = type('keyd.v1.GrantAccessRequest');
const importRequest = type('keyd.v1.ImportKeysRequest');
const checkOf = (t: MessageDefinition) => checker.forMethod('keyd.v1.KeyManager', t.type) as (b: Uint8Array) => void;
const check = (t: MessageDefinition, bytes: number[]) => () => checkOf(t)(Buffer.from(bytes));

describe('WireFormatChecker', () => {
  it('passes every message protobufjs writes, nested and repeated fields included', () => {
    const row = fc.record({
      line: fc.integer({ min: -(2 ** 31), max: 2 ** 31 - 1 }),
      owner_id: fc.string(),
      uuid: fc.string(),
      subscription_end: fc.string(),
      data_limit_bytes: fc.string(),
      error: fc.string(),
    });
    fc.assert(
      fc.property(
        fc.record({
          options: fc.record({
            dry_run: fc.boolean(),
            replace: fc.boolean(),
            orphan_duration_seconds: fc.integer({ min: 0 }),
          }),
          owners: fc.array(row, { maxLength: 5 }),
          config_clients: fc.array(fc.record({ uuid: fc.string(), email: fc.string() }), { maxLength: 5 }),
        }),
        (req) => checkOf(importRequest)(importRequest.serialize(req)),
      ),
    );
    fc.assert(
      fc.property(
        fc.record({ owner_id: fc.string(), duration_seconds: fc.integer(), request_id: fc.string() }),
        (req) => checkOf(grant)(grant.serialize(req)),
      ),
    );
  });

  it('refuses a known field with a wire type its type is never written with', () => {
    // owner_id is a string (wire type 2): sent as wire type 7, protobufjs would still read it as one.
    expect(check(grant, [0x0f, 5, 0x21, 0x20, 0x20, 0x20, 0x21, 0x10, 1])).toThrow('field 1 has wire type 7');
    expect(check(grant, [0x08, 1])).toThrow('field 1 has wire type 0');
    // duration_seconds (a varint) sent as a fixed 32-bit value.
    expect(check(grant, [0x15, 1, 0, 0, 0])).toThrow('field 2 has wire type 5');
  });

  it('refuses reserved and group wire types, field 0, and lengths or varints past the end, also nested', () => {
    expect(check(grant, [0x7e])).toThrow(WireFormatError);
    expect(check(grant, [0x7b])).toThrow('wire type 3');
    expect(check(grant, [0x00, 1])).toThrow('field number 0');
    expect(check(grant, [0x0a, 4, 0x61])).toThrow('runs past the end');
    expect(check(grant, [0x10, 0x80])).toThrow('varint');
    expect(check(grant, [0x10, ...new Array(11).fill(0xff), 1])).toThrow('longer than 10 bytes');
    // owners[0].line (an int32) sent as a string, one level down.
    expect(check(importRequest, [0x12, 3, 0x0a, 1, 0x61])).toThrow('field 1 has wire type 2');
  });

  it('lets unknown fields through, as proto3 keeps them', () => {
    expect(check(grant, [0xa0, 0x06, 1, 0x0a, 1, 0x61])).not.toThrow();
  });
});
