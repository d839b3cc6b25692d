import { createHash } from 'node:crypto';
import { ActiveSnapshot } from '@keyd/store';
import { ConfigLayout } from './config-layout.reader';

/**
 * Prints the config file a page of keys at a time, byte for byte as
 * JSON.stringify(file, null, 2) would print it with the keys in the list, but
 * without ever holding more than one page of them: the store prints each page.
 */
export async function* renderConfig(
  layout: ConfigLayout,
  snapshot: Pick<ActiveSnapshot, 'printed'>,
  level: number,
  counted: { clients: number } = { clients: 0 },
): AsyncGenerator<string> {
  let first = true;
  for await (const page of snapshot.printed({ indent: layout.indent, level })) {
    counted.clients += page.count;
    yield `${first ? `${layout.prefix}[\n` : ',\n'}${page.text}`;
    first = false;
  }
  if (layout.foreign.length) {
    const items = layout.foreign.map(
      (c) => layout.indent + JSON.stringify(c, null, 2).replace(/\n/g, `\n${layout.indent}`),
    );
    yield `${first ? `${layout.prefix}[\n` : ',\n'}${items.join(',\n')}`;
    first = false;
  }
  yield first ? `${layout.prefix}[]${layout.suffix}` : `\n${layout.indent.slice(2)}]${layout.suffix}`;
}

/** sha256 of what renderConfig prints, to tell whether a write would change the file, without writing. */
export async function digestOf(chunks: AsyncIterable<string>): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of chunks) hash.update(chunk, 'utf8');
  return hash.digest('hex');
}
