import { createHash } from 'node:crypto';
import { ActiveClient } from '@keyd/store';
import { ConfigLayout } from './config-layout.reader';

/**
 * Prints the config file a page of keys at a time, byte for byte as
 * JSON.stringify(file, null, 2) would print it with the keys in the list, but
 * without ever holding more than one page of them.
 */
export async function* renderConfig(
  layout: ConfigLayout,
  pages: AsyncIterable<ActiveClient[]>,
  level: number,
  counted: { clients: number } = { clients: 0 },
): AsyncGenerator<string> {
  const inner = `${layout.indent}  `;
  const levelLine = `${inner}"level": ${JSON.stringify(level)}\n`;
  let first = true;
  for await (const page of pages) {
    if (!page.length) continue;
    let out = first ? `${layout.prefix}[\n` : ',\n';
    for (let i = 0; i < page.length; i++) {
      const k = page[i];
      if (i) out += ',\n';
      out +=
        `${layout.indent}{\n${inner}"id": ${JSON.stringify(k.uuid)},\n${inner}"email": ${JSON.stringify(k.email)},\n` +
        `${inner}"flow": ${JSON.stringify(k.flow)},\n${levelLine}${layout.indent}}`;
    }
    counted.clients += page.length;
    first = false;
    yield out;
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
