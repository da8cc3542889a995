/**
 * The smallest inputs the properties found for each engine bug, kept as
 * plain examples: they state the behaviour the fix must give and stay as
 * regression tests afterwards.
 */
import { describe, expect, it } from 'vitest';
import { injectPod, type InjectResult } from '../../src/engine/index.ts';
import { parseRef } from '../../src/engine/values/ref.ts';
import { POLICIES } from '../support/arbitraries.ts';
import { kubeletExpand, podInvariantProblems } from '../support/invariants.ts';

const ctx = { policy: POLICIES.builtin.engine, cluster: {}, version: '0.1.0' };
const REPO = 'https://github.com/org/repo.git';

/** A test title that shows control characters as \u escapes. */
const visible = (s: string) => s.replace(/[\u0000-\u001f\u007f-\u009f]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
const podWith = (annotations: Record<string, unknown>, spec: Record<string, unknown>) => ({ metadata: { annotations }, spec });
const inject = (pod: unknown): InjectResult => injectPod({ pod, namespace: 'team-a' }, ctx);

describe('the engine does not throw on wrongly typed members (preview and inject take any JSON)', () => {
  it('a volumeMount whose mountPath is not a string', () => {
    // inject.ts plan(): `m.mountPath?.replace(...)` calls .replace on a number.
    const pod = podWith({ 'gitsync.dev/repo': REPO }, { containers: [{ name: 'app', volumeMounts: [{ name: 'v', mountPath: 5 }] }], volumes: [{ name: 'v' }] });
    expect(() => inject(pod)).not.toThrow();
  });

  it('a securityContext.fsGroup that is not a number, on an SSH pod', () => {
    // inject.ts treats a non-number fsGroup as absent and AddOnlyPatch.put then
    // refuses to overwrite it: "refusing to overwrite /spec/securityContext/fsGroup".
    const pod = podWith(
      { 'gitsync.dev/repo': 'git@github.com:org/repo.git', 'gitsync.dev/secret': 'git-ssh', 'gitsync.dev/known-hosts': 'secret' },
      { securityContext: { fsGroup: '1000' }, containers: [{ name: 'app' }] },
    );
    expect(() => inject(pod)).not.toThrow();
  });

  it('an annotation value that is a JSON object', () => {
    // settings.ts: String(value) on {"toString": 1} throws "Cannot convert object to primitive value".
    const pod = podWith(JSON.parse('{"gitsync.dev/repo": {"toString": 1}}') as Record<string, unknown>, { containers: [{ name: 'app' }] });
    expect(() => inject(pod)).not.toThrow();
  });

  it('a metadata.namespace that is a JSON object', () => {
    // inject.ts and settings.ts put the namespace into messages with a template literal, which throws.
    const pod = { metadata: { namespace: JSON.parse('{"toString": 1}') as unknown, annotations: { 'gitsync.dev/inject': 'true' } }, spec: { containers: [{ name: 'app' }] } };
    expect(() => injectPod({ pod }, ctx)).not.toThrow();
  });

  it('a container image that is a JSON object', () => {
    // inject.ts: GIT_SYNC_IMAGE.test(c.image) converts the object to a string, which throws.
    const pod = podWith({ 'gitsync.dev/repo': REPO }, { containers: [{ name: 'app', image: JSON.parse('{"toString": 1}') as unknown }] });
    expect(() => inject(pod)).not.toThrow();
  });
});

describe('an app container that already mounts something at the mount path', () => {
  // The check compares mountPath with only trailing slashes removed, so other
  // spellings of the same directory slip through and the app gets two mounts
  // at /git, one shadowing the other.
  for (const mountPath of ['/git/', '//git', '/./git', '/git/.']) {
    it(`is denied when the mount is written ${mountPath}`, () => {
      const pod = podWith({ 'gitsync.dev/repo': REPO }, { containers: [{ name: 'app', volumeMounts: [{ name: 'data', mountPath }] }], volumes: [{ name: 'data', emptyDir: {} }] });
      const r = inject(pod);
      if (r.outcome === 'injected') expect(podInvariantProblems(r.pod)).toEqual([]);
      expect(r.outcome).toBe('denied');
      expect(r.errors.map((e) => e.code)).toContain('MOUNT_PATH_IN_USE');
    });
  }
});

describe('git-sync gets the ref as written', () => {
  // Kubernetes expands $(NAME) in env values from earlier variables and service
  // variables, and turns $$ into $. '$', '(' and ')' are legal in git ref names,
  // so a ref containing them reaches git-sync changed, unless the engine escapes
  // '$' as '$$' (or refuses such refs).
  for (const ref of ['feature/$(GITSYNC_REPO)', 'cost-$$-cut', 'HEAD$(id)']) {
    it(`ref ${ref}`, () => {
      const r = inject(podWith({ 'gitsync.dev/repo': REPO, 'gitsync.dev/ref': ref }, { containers: [{ name: 'app' }] }));
      if (r.outcome !== 'injected') return;
      const spec = (r.pod as { spec: { initContainers: { env: { name: string; value?: string }[] }[] } }).spec;
      const value = spec.initContainers[0]!.env.find((e) => e.name === 'GITSYNC_REF')!.value!;
      expect(kubeletExpand(value, (name) => `<${name}>`)).toBe(ref);
    });
  }
});

describe('parseRef on its own', () => {
  // parseValue refuses control characters for every annotation, so the engine
  // is safe today; parseRef itself is documented as git check-ref-format, which
  // refuses them, and is exported for other callers.
  for (const ref of ['ma\u0001in', '\u0000main', 'main\u007f', 'esc\u001bx']) {
    it(`refuses ${visible(ref)}`, () => {
      expect(parseRef(ref).ok).toBe(false);
    });
  }
});
