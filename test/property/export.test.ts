/**
 * The webhook-free export's few computations, against the engine over
 * their whole envelope: values inside an envelope pass through the engine
 * unchanged (so a sentinel's place in the engine's output is the value's);
 * the period's Go spelling; the repository allow-list as regexes; the
 * system directories and risky env names. Each side is the export's
 * TypeScript face of the CEL it writes (src/export/cel.ts).
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { formatDuration, formatProblem, injectPod, parseDuration, parseValue, readRepoPattern, repoAllowed, type EngineContext } from '../../src/engine/index.ts';
import { parseRepo } from '../../src/engine/values/repo.ts';
import { ANNOTATION_EXPORT, compileExport, evaluateWebhookFree } from '../../src/export/index.ts';
import { durationSeconds, int, str, type Input } from '../../src/export/cel.ts';
import { goDuration } from '../../src/export/values.ts';
import { repoPatternRegex } from '../../src/export/patterns.ts';
import { goldenPolicy } from '../support/golden-policy.ts';
import { engineCaseArb, POLICIES, runs } from '../support/arbitraries.ts';
import { expectAgreement } from '../support/webhook-free.ts';

const RUNS = runs(300);
const NO_INPUT = {} as Input;

describe('inside its envelope, every exported value passes through the engine unchanged', () => {
  for (const [key, row] of Object.entries(ANNOTATION_EXPORT)) {
    if (!row.envelope) continue;
    it(key, () => {
      fc.assert(
        fc.property(fc.stringMatching(row.envelope!), (raw) => {
          if (key === 'ref' && /\.lock(?:\/|$)/.test(raw)) return; // outside the envelope too (checks.ts)
          if (key === 'period' || key === 'sync-timeout') return; // durations' spelling is checked below
          const parsed = parseValue(key as never, raw);
          if (key === 'mount-path' && !parsed.ok) {
            expect(parsed.code).toBe('MOUNT_PATH_NOT_ALLOWED'); // the system directories are a check of their own
            return;
          }
          if (key === 'env' && !parsed.ok) {
            expect(parsed.code).toBe('ENV_NAME_NOT_ALLOWED'); // the risky names are a check of their own
            return;
          }
          expect(parsed.ok, `${key}: ${raw}`).toBe(true);
          if (!parsed.ok) return;
          const v = parsed.value as unknown;
          if (key === 'repo') expect((v as { url: string }).url).toBe(raw);
          else if (key === 'depth' || key === 'inject' || key === 'max-failures') expect(String(v)).toBe(raw);
          else if (key === 'containers') expect((v as string[]).join(',')).toBe([...new Set(raw.replaceAll(' ', '').split(','))].join(','));
          else expect(v).toBe(raw);
        }),
        { numRuns: RUNS },
      );
    });
  }
  it('repo: https:// URLs are https, the rest ssh', () => {
    fc.assert(
      fc.property(fc.stringMatching(ANNOTATION_EXPORT.repo.envelope!), (raw) => {
        const parsed = parseRepo(raw);
        expect(parsed.ok && parsed.value.transport).toBe(raw.startsWith('https://') ? 'https' : 'ssh');
      }),
      { numRuns: RUNS },
    );
  });
});

describe('period', () => {
  it('whole seconds as CEL reads them, in the engine’s Go spelling', () => {
    fc.assert(
      fc.property(fc.stringMatching(ANNOTATION_EXPORT.period.envelope!), (raw) => {
        const seconds = durationSeconds(str(raw)).ev(NO_INPUT);
        const parsed = parseDuration(raw);
        if (seconds === 0 || seconds > 86400) expect(parsed.ok).toBe(false);
        else {
          expect(parsed.ok && parsed.value).toBe(seconds * 1000);
          expect(goDuration(int(seconds)).ev(NO_INPUT)).toBe(formatDuration(seconds * 1000));
        }
      }),
      { numRuns: RUNS },
    );
  });
});

describe('allowedRepos as regexes', () => {
  const part = fc.stringMatching(/^[a-z][a-z0-9]{0,3}$/);
  const host = fc.constantFrom('github.com', 'gitlab.example.com', 'git.example.com');
  const patternArb = fc
    .tuple(host, fc.option(fc.constantFrom(22, 443, 2222), { nil: undefined }), fc.array(part, { minLength: 0, maxLength: 3 }), fc.constantFrom('', '*', '**', '.git'))
    .map(([h, port, parts, tail]) => {
      const path = tail === '*' || tail === '**' ? [...parts, tail] : parts.length ? [...parts.slice(0, -1), `${parts.at(-1)}${tail}`] : ['x'];
      return `${h}${port === undefined ? '' : `:${port}`}/${path.join('/')}`;
    });
  const urlArb = fc
    .tuple(fc.constantFrom('https', 'ssh', 'scp'), host, fc.option(fc.constantFrom(22, 443, 2222), { nil: undefined }), fc.array(part, { minLength: 1, maxLength: 4 }), fc.constantFrom('', '.git', '.git.git'))
    .map(([scheme, h, port, parts, suffix]) => {
      const path = `${parts.join('/')}${suffix}`;
      if (scheme === 'scp') return `git@${h}:${path}`;
      return `${scheme === 'https' ? 'https://' : 'ssh://git@'}${h}${port === undefined ? '' : `:${port}`}/${path}`;
    });
  it('match exactly what the engine allows', () => {
    fc.assert(
      fc.property(patternArb, urlArb, (text, url) => {
        const pattern = readRepoPattern(text);
        if (!pattern.ok) return;
        const repo = parseRepo(url);
        if (!repo.ok || !ANNOTATION_EXPORT.repo.envelope!.test(url)) return;
        expect(repoPatternRegex(pattern.value).test(url), `${text} ~ ${url}`).toBe(repoAllowed([pattern.value], repo.value));
      }),
      { numRuns: runs(2000) },
    );
  });
});

describe('checks against the engine on one pod', () => {
  const ctx: EngineContext = { policy: goldenPolicy({}), cluster: { nativeSidecars: true }, version: 't' };
  const compiled = compileExport(ctx);
  if (!compiled.ok) throw new Error('the built-in policy must export with the fact given');
  const run = (annotations: Record<string, string>) => {
    const pod = { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'p', annotations: { 'gitsync.dev/repo': 'https://github.com/acme/dags.git', ...annotations } }, spec: { containers: [{ name: 'app', image: 'app' }] } };
    const engine = injectPod({ pod, namespace: 'apps' }, ctx);
    const free = evaluateWebhookFree(compiled.compiled, { pod, namespace: 'apps' });
    return { engine, free };
  };
  const systemish = fc
    .tuple(
      fc.constantFrom('/etc', '/etc/ssl', '/usr', '/usr/lib', '/usr/local/lib64', '/lib', '/libexec', '/var', '/var/run', '/run', '/proc', '/home', '/opt', '/srv', '/usr/share', '/root'),
      fc.array(fc.constantFrom('a', 'b1', 'lib', 'ssl', 'x.y'), { maxLength: 2 }),
    )
    .map(([d, rest]) => [d, ...rest].join('/'));
  it('mount-path: the same refusals, in the same words', () => {
    fc.assert(
      fc.property(systemish, (path) => {
        const { engine, free } = run({ 'gitsync.dev/mount-path': path });
        const lines = engine.errors.map(formatProblem);
        expect(free.denials).toEqual(lines);
        expect(free.outcome).toBe(engine.outcome);
      }),
      { numRuns: RUNS },
    );
  });
  it('env: the same refusals, in the same words', () => {
    fc.assert(
      fc.property(fc.constantFrom('PATH', 'LD_PRELOAD', 'LD_X', 'KUBERNETES_SERVICE_HOST', 'GIT_CONFIG_COUNT', 'PYTHONPATH', 'DAGS_FOLDER', 'HOME', 'ENV', 'MALLOC_ARENA', 'AIRFLOW__CORE__DAGS_FOLDER'), (name) => {
        const { engine, free } = run({ 'gitsync.dev/env': name });
        expect(free.denials).toEqual(engine.errors.map(formatProblem));
        expect(free.outcome).toBe(engine.outcome);
      }),
      { numRuns: 50 },
    );
  });
});

describe('the export agrees with the webhook on generated pods, namespaces, policies and cluster facts', () => {
  // Compiled once per policy and facts: compiling is the slow part, and the same for every pod.
  const compiledFor = new Map<string, ReturnType<typeof compileExport>>();
  it('the webhook’s outcome, or a refusal naming what only the webhook serves', () => {
    fc.assert(
      fc.property(fc.oneof(engineCaseArb({ hostileWeight: 1 }), engineCaseArb({ repositories: 2 })), (c) => {
        const ctx: EngineContext = { policy: POLICIES[c.policy].engine, cluster: c.cluster, version: 't' };
        const key = `${c.policy}/${String(c.cluster.nativeSidecars)}`;
        let compiled = compiledFor.get(key);
        if (!compiled) compiledFor.set(key, (compiled = compileExport(ctx, { allowUnknownFacts: true })));
        if (!compiled.ok) return;
        const pod = c.pod as { metadata?: { namespace?: string } };
        const namespace = c.namespace || pod.metadata?.namespace || '';
        const engine = injectPod({ pod: c.pod, ...(c.namespace !== undefined && { namespace: c.namespace }), ...(c.namespaceAnnotations && { namespaceAnnotations: c.namespaceAnnotations }) }, ctx);
        if (engine.skip?.reason === 'unreadable-pod') return; // the API server never sends one
        const free = evaluateWebhookFree(compiled.compiled, {
          pod: c.pod as Record<string, unknown>,
          namespace,
          namespaceLabels: { 'gitsync.dev/injection': 'enabled' },
          ...(c.namespaceAnnotations && { namespaceAnnotations: c.namespaceAnnotations }),
        });
        expectAgreement(engine, free, ctx.policy.prefix);
      }),
      { numRuns: runs(300) },
    );
  });
});
