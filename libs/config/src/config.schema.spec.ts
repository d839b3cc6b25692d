import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { configSchema } from './config.schema';

describe('the README Configuration table', () => {
  const readme = readFileSync(join(__dirname, '../../../README.md'), 'utf8');
  const section = readme.slice(
    readme.indexOf('## Configuration'),
    readme.indexOf('\n## ', readme.indexOf('## Configuration') + 1),
  );
  // A row's first cell names one variable or several, each in backticks.
  const documented = new Set(
    [...section.matchAll(/^\| ([^|]+)\|/gm)].flatMap((row) =>
      [...row[1].matchAll(/`([A-Z][A-Z0-9_]+)`/g)].map((m) => m[1]),
    ),
  );

  it('lists every variable the schema reads, and no other', () => {
    expect([...documented].sort()).toEqual(Object.keys(configSchema.shape).sort());
  });
});
