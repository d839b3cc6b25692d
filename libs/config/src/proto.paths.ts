import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';

let cached: string | undefined;

/**
 * The repository's proto/ folder. Found by walking up from this file so that the
 * same code works from the TypeScript sources (tests) and from dist/ (the daemon).
 */
export function protoDir(): string {
  if (cached) return cached;
  let dir = __dirname;
  for (;;) {
    const candidate = join(dir, 'proto');
    if (existsSync(join(candidate, 'keyd', 'v1', 'keyd.proto'))) return (cached = candidate);
    const parent = dirname(dir);
    if (parent === dir) throw new Error(`proto/ not found above ${__dirname}`);
    dir = parent;
  }
}
