import { createHash } from 'node:crypto';
import { promises as fs } from 'node:fs';

const CHUNK = 1 << 20;
/** Names longer than this are none of the few this scan looks for. */
const MAX_CAPTURE = 4096;
const MARKER = 'keyd:client-list:0f8c2e';
const FOREIGN_BATCH = 2000;

/** Xray ≥ 26.5.9 reads an inbound's users under `users` as well as `clients`. */
export type ClientListField = 'clients' | 'users';

/** A client of the managed list that no key of keyd's accounts for, as the operator wrote it. */
export type ForeignClient = { id: string } & Record<string, unknown>;

/** Of these clients, the ones no key of keyd's accounts for. */
export type ForeignFilter = (clients: ForeignClient[]) => Promise<ForeignClient[]>;

/**
 * The core's config file cut around the managed inbound's client list: what
 * JSON.stringify(file, null, 2) prints before and after that list, the list's
 * indentation, and the key the operator's file spells it with.
 */
export interface ConfigLayout {
  prefix: string;
  suffix: string;
  /** The indentation of each client object in the list. */
  indent: string;
  field: ClientListField;
  /** sha256 of the file as it was read. */
  digest: string;
  /** The list's clients that keyd does not manage, printed after its own. */
  foreign: ForeignClient[];
}

interface ListRange {
  inbound: number;
  field: ClientListField;
  start: number;
  end: number;
}

type Role = 'root' | 'inbounds' | 'inbound' | 'settings' | 'list' | 'other';

interface Frame {
  object: boolean;
  role: Role;
  /** The inbound's index, for the frames inside an inbound. */
  inbound: number;
  /** The key whose value comes next, in the frames whose keys matter. */
  key: string | null;
  expectKey: boolean;
  index: number;
  start: number;
}

/**
 * Finds the client lists of every inbound and the inbounds' tags in one pass
 * over the file's bytes, without parsing the lists: the managed one holds a
 * line per key, and parsing it would cost memory in proportion to them.
 */
class ListScanner {
  readonly lists: ListRange[] = [];
  readonly tags = new Map<number, string>();
  private readonly stack: Frame[] = [];
  private inString = false;
  private escaped = false;
  private capture: number[] | null = null;
  private captureKey = false;
  private done = false;

  feed(chunk: Buffer, base: number): void {
    for (let i = 0; i < chunk.length; i++) {
      const c = chunk[i];
      if (this.inString) {
        if (this.escaped) this.escaped = false;
        else if (c === 0x5c) this.escaped = true;
        else if (c === 0x22) {
          this.inString = false;
          this.endString();
          continue;
        }
        if (this.capture && this.capture.push(c) > MAX_CAPTURE) this.capture = null;
        continue;
      }
      switch (c) {
        case 0x22:
          this.startString();
          break;
        case 0x7b:
        case 0x5b:
          this.open(c === 0x7b, base + i);
          break;
        case 0x7d:
        case 0x5d:
          this.close(c === 0x7d, base + i);
          break;
        case 0x3a: {
          const top = this.top();
          if (top?.object) top.expectKey = false;
          break;
        }
        case 0x2c: {
          const top = this.top();
          if (top?.object) {
            top.expectKey = true;
            top.key = null;
          } else if (top) top.index++;
          break;
        }
      }
    }
  }

  finish(): void {
    if (this.inString || this.stack.length || !this.done) throw new Error('unexpected end of the file');
  }

  private top(): Frame | undefined {
    return this.stack[this.stack.length - 1];
  }

  private startString(): void {
    this.inString = true;
    const top = this.top();
    this.captureKey = top?.object === true && top.expectKey;
    const wanted = this.captureKey
      ? top?.role === 'root' || top?.role === 'inbound' || top?.role === 'settings'
      : top?.role === 'inbound' && top.key === 'tag';
    this.capture = wanted ? [] : null;
  }

  private endString(): void {
    const top = this.top();
    const text = this.capture ? (JSON.parse(`"${Buffer.from(this.capture).toString('utf8')}"`) as string) : null;
    this.capture = null;
    if (!top?.object) return;
    if (this.captureKey) top.key = text;
    else if (text !== null && top.role === 'inbound' && !this.tags.has(top.inbound)) this.tags.set(top.inbound, text);
  }

  private open(object: boolean, at: number): void {
    if (this.done) throw new Error(`unexpected data at byte ${at}`);
    const parent = this.top();
    const role = this.roleOf(parent, object);
    const inbound = parent?.role === 'inbounds' ? parent.index : (parent?.inbound ?? -1);
    this.stack.push({ object, role, inbound, key: null, expectKey: object, index: 0, start: at });
  }

  private roleOf(parent: Frame | undefined, object: boolean): Role {
    if (!parent) return object ? 'root' : 'other';
    if (parent.role === 'root' && !object && parent.key === 'inbounds') return 'inbounds';
    if (parent.role === 'inbounds' && object) return 'inbound';
    if (parent.role === 'inbound' && object && parent.key === 'settings') return 'settings';
    if (parent.role === 'settings' && !object && (parent.key === 'clients' || parent.key === 'users')) return 'list';
    return 'other';
  }

  private close(object: boolean, at: number): void {
    const frame = this.stack.pop();
    if (!frame || frame.object !== object) throw new Error(`unexpected "${object ? '}' : ']'}" at byte ${at}`);
    if (frame.role === 'list') {
      const parent = this.top() as Frame;
      this.lists.push({
        inbound: frame.inbound,
        field: parent.key as ClientListField,
        start: frame.start,
        end: at + 1,
      });
    }
    if (!this.stack.length) this.done = true;
  }
}

async function readRange(handle: fs.FileHandle, start: number, end: number): Promise<string> {
  const buf = Buffer.alloc(end - start);
  let read = 0;
  while (read < buf.length) {
    const { bytesRead } = await handle.read(buf, read, buf.length - read, start + read);
    if (!bytesRead) throw new Error('the file shrank while it was read');
    read += bytesRead;
  }
  return buf.toString('utf8');
}

/**
 * Walks the managed list's elements a batch at a time and keeps the clients
 * that keep says keyd does not manage. Elements that are not objects with a
 * string id are no client at all, and are dropped.
 */
async function foreignClients(handle: fs.FileHandle, list: ListRange, keep: ForeignFilter): Promise<ForeignClient[]> {
  const kept: ForeignClient[] = [];
  let batch: ForeignClient[] = [];
  const flush = async () => {
    if (batch.length) kept.push(...(await keep(batch)));
    batch = [];
  };
  const buf = Buffer.alloc(CHUNK);
  let element: Buffer[] = [];
  let from = -1;
  let depth = 0;
  let inString = false;
  let escaped = false;
  // The list's own brackets are left out: depth 0 is between its elements.
  for (let at = list.start + 1; at < list.end - 1;) {
    const { bytesRead } = await handle.read(buf, 0, Math.min(CHUNK, list.end - 1 - at), at);
    if (!bytesRead) throw new Error('the file shrank while it was read');
    const chunk = buf.subarray(0, bytesRead);
    for (let i = 0; i < chunk.length; i++) {
      const c = chunk[i];
      if (inString) {
        if (escaped) escaped = false;
        else if (c === 0x5c) escaped = true;
        else if (c === 0x22) inString = false;
      } else if (c === 0x22) inString = true;
      else if (c === 0x7b || c === 0x5b) {
        if (depth++ === 0 && c === 0x7b) from = i;
      } else if ((c === 0x7d || c === 0x5d) && --depth === 0 && from >= 0) {
        element.push(Buffer.from(chunk.subarray(from, i + 1)));
        const client = JSON.parse(Buffer.concat(element).toString('utf8')) as Record<string, unknown>;
        if (typeof client['id'] === 'string' && client['id'] !== '') batch.push(client as ForeignClient);
        if (batch.length >= FOREIGN_BATCH) await flush();
        element = [];
        from = -1;
      }
    }
    if (from >= 0) {
      element.push(Buffer.from(chunk.subarray(from)));
      from = 0;
    }
    at += bytesRead;
  }
  await flush();
  return kept;
}

interface ParsedFile {
  inbounds?: { tag?: unknown; settings?: Record<string, unknown> | null }[];
}

/**
 * Reads the layout of the config file at path around the inbound tagged tag.
 * Everything but that inbound's client list is parsed and printed back as the
 * whole file used to be; the list itself is only skipped over.
 */
export async function readConfigLayout(path: string, tag: string, keep: ForeignFilter): Promise<ConfigLayout> {
  const handle = await fs.open(path, 'r');
  try {
    const hash = createHash('sha256');
    const scanner = new ListScanner();
    const buf = Buffer.alloc(CHUNK);
    let size = 0;
    try {
      for (;;) {
        const { bytesRead } = await handle.read(buf, 0, CHUNK, size);
        if (!bytesRead) break;
        const chunk = buf.subarray(0, bytesRead);
        hash.update(chunk);
        scanner.feed(chunk, size);
        size += bytesRead;
      }
      scanner.finish();
    } catch (e) {
      throw new Error(`the file is not valid JSON, so it is left alone: ${(e as Error).message}`);
    }
    const index = [...scanner.tags].find(([, t]) => t === tag)?.[0];
    const lists = scanner.lists.filter((l) => l.inbound === index);
    if (lists.length > 1)
      throw new Error(
        `the inbound tagged "${tag}" has more than one client list (${lists.map((l) => l.field).join(', ')}); keep one`,
      );
    const list = lists[0];
    const text = list
      ? `${await readRange(handle, 0, list.start)}[]${await readRange(handle, list.end, size)}`
      : await readRange(handle, 0, size);
    const layout = layoutOf(text, tag, list?.field ?? 'clients');
    const foreign = list ? await foreignClients(handle, list, keep) : [];
    return { ...layout, digest: hash.digest('hex'), foreign };
  } finally {
    await handle.close();
  }
}

/** Parses the file without its client list and prints it back around a marker where the list goes. */
function layoutOf(text: string, tag: string, field: ClientListField): Omit<ConfigLayout, 'digest' | 'foreign'> {
  let parsed: ParsedFile;
  try {
    parsed = JSON.parse(text) as ParsedFile;
  } catch (e) {
    throw new Error(`the file is not valid JSON, so it is left alone: ${(e as Error).message}`);
  }
  const inbound = Array.isArray(parsed.inbounds) ? parsed.inbounds.find((i) => i?.tag === tag) : undefined;
  if (!inbound) throw new Error(`no inbound tagged "${tag}" in the file`);
  inbound.settings ??= {};
  inbound.settings[field] = [MARKER];
  const printed = `${JSON.stringify(parsed, null, 2)}\n`;
  const at = printed.indexOf(`"${MARKER}"`);
  if (at < 0 || printed.indexOf(`"${MARKER}"`, at + 1) >= 0) throw new Error('the file already holds keyd’s marker');
  const open = printed.lastIndexOf('[', at);
  const close = printed.indexOf(']', at + MARKER.length + 2);
  return {
    prefix: printed.slice(0, open),
    suffix: printed.slice(close + 1),
    indent: printed.slice(printed.lastIndexOf('\n', at) + 1, at),
    field,
  };
}
