/**
 * The architecture, kept by a test: the engine is pure, folders meet at
 * their index.ts, and no two folders import each other (the rules are in
 * scripts/import-graph.ts; `npm run imports` prints the graph).
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { folderCycles, importsOf, report, sourceImports, violations, type ImportEdge } from '../../scripts/import-graph.ts';

describe('src/ keeps its architecture', () => {
  const edges = sourceImports();

  test('the import scan sees the code (a scan that finds nothing would pass anything)', () => {
    expect(edges.filter((e) => e.from.startsWith('engine/')).length).toBeGreaterThan(20);
    expect(edges.some((e) => e.from === 'cli/main.ts')).toBe(true);
  });

  test('no rule is broken', () => {
    expect(violations(edges)).toEqual([]);
  });

  test('docs/development.md shows what `npm run imports` prints', () => {
    const page = readFileSync(join(import.meta.dirname, '..', '..', 'docs', 'development.md'), 'utf8');
    const shown = /```console\n\$ npm run -s imports\n([\s\S]*?)\n```/.exec(page)?.[1];
    expect(shown).toBe(report(edges));
  });

  test('docs/development.md lists every folder of src/ and nothing else', () => {
    const page = readFileSync(join(import.meta.dirname, '..', '..', 'docs', 'development.md'), 'utf8');
    const listed = [...page.matchAll(/^src\/([a-z/]+)\/ /gm)].map((m) => m[1]!).sort();
    const folders = [...new Set(edges.map((e) => e.from).filter((f) => f.includes('/')).map((f) => f.slice(0, f.lastIndexOf('/'))))].sort();
    expect(listed).toEqual(folders);
  });
});

describe('the checker finds what it must', () => {
  const files = (texts: Record<string, string>): ImportEdge[] => Object.entries(texts).flatMap(([file, text]) => importsOf(file, text));

  test('an engine file that imports the policy, the file system, or another folder’s internals', () => {
    const edges = files({
      'engine/inject.ts': "import { x } from '../policy/index.ts';\nimport { readFileSync } from 'node:fs';\nimport type { V1Pod } from '@kubernetes/client-node';\nimport { hash } from 'node:crypto';",
      'policy/index.ts': "export { y } from './compile.ts';",
      'policy/compile.ts': "import {\n  parseValue,\n  type Setting,\n} from '../engine/settings.ts';",
    });
    expect(violations(edges)).toEqual([
      'engine/inject.ts imports ../policy/index.ts: the engine imports nothing outside src/engine/',
      'engine/inject.ts imports node:fs at run time: the engine takes only types from packages (besides node:crypto)',
      "policy/compile.ts imports ../engine/settings.ts: another folder's internals; import it from that folder's index.ts",
      'folders import each other: engine → policy → engine',
    ]);
  });

  test('a sub-folder’s index.ts, a dynamic import and a top-level file', () => {
    const edges = files({
      'app/start.ts': "const { W } = await import('../policy/sources/index.ts');\nimport { log } from '../log.ts';",
      'cli/serve.ts': "import('../app/start.ts')",
    });
    expect(violations(edges)).toEqual(["cli/serve.ts imports ../app/start.ts: another folder's internals; import it from that folder's index.ts"]);
  });

  test('cycles over several folders, each once', () => {
    const edges = files({
      'a/index.ts': "import '../b/index.ts';",
      'b/index.ts': "import '../c/index.ts';",
      'c/index.ts': "import '../a/index.ts';\nimport '../b/index.ts';",
    });
    expect(folderCycles(edges)).toEqual([
      ['a', 'b', 'c', 'a'],
      ['b', 'c', 'b'],
    ]);
  });
});
