/**
 * The kubectl oracle works offline and agrees with fast-json-patch on the
 * operations the engine emits, including the failure the engine must avoid.
 */
import { describe, expect, it } from 'vitest';
import type { Operation } from 'fast-json-patch';
import { applyPatchToCopy } from '../support/apply.ts';
import { KubectlPatchError, kubectlAvailable, kubectlPatch, normaliseKubectlOutput } from '../support/kubectl.ts';

const pod = () => ({
  apiVersion: 'v1',
  kind: 'Pod',
  metadata: { generateName: 'web-', annotations: { 'gitsync.dev/repo': 'https://github.com/org/repo.git' } },
  spec: {
    containers: [{ name: 'app', image: 'nginx', volumeMounts: [{ name: 'data', mountPath: '/data' }] }],
    volumes: [{ name: 'data', emptyDir: {} }],
    securityContext: null,
    unknownField: { kept: true },
  },
});

const HAS_KUBECTL = kubectlAvailable();

describe.skipIf(!HAS_KUBECTL)(
  HAS_KUBECTL ? 'kubectl patch --local as an oracle' : 'kubectl patch --local as an oracle: skipped, no kubectl client on PATH',
  () => {
    it('adds under keys escaped with ~1 and ~0', () => {
      const ops: Operation[] = [
        { op: 'add', path: '/metadata/annotations/gitsync.dev~1status', value: '{"version":"0.1.0"}' },
        { op: 'add', path: '/metadata/annotations/a~0b~1c', value: 'tilde and slash' },
      ];
      const out = kubectlPatch(pod(), ops) as ReturnType<typeof pod>;
      expect(out.metadata.annotations).toEqual({
        'gitsync.dev/repo': 'https://github.com/org/repo.git',
        'gitsync.dev/status': '{"version":"0.1.0"}',
        'a~b/c': 'tilde and slash',
      });
      expect(out).toStrictEqual(applyPatchToCopy(pod(), ops));
    });

    it('appends with /- and creates missing lists with one add', () => {
      const ops: Operation[] = [
        { op: 'add', path: '/spec/volumes/-', value: { name: 'git-sync-root', emptyDir: {} } },
        { op: 'add', path: '/spec/containers/0/volumeMounts/-', value: { name: 'git-sync-root', mountPath: '/git', readOnly: true } },
        { op: 'add', path: '/spec/initContainers', value: [{ name: 'git-sync-init', image: 'git-sync' }] },
        { op: 'add', path: '/spec/securityContext', value: { fsGroup: 65533 } },
      ];
      const out = kubectlPatch(pod(), ops);
      expect(out).toStrictEqual(applyPatchToCopy(pod(), ops));
      expect((out as ReturnType<typeof pod>).spec.volumes.map((v) => v.name)).toEqual(['data', 'git-sync-root']);
    });

    it('refuses an add under a missing parent, as fast-json-patch with validation does', () => {
      const missing: Operation[][] = [
        [{ op: 'add', path: '/metadata/labels/app', value: 'web' }],
        [{ op: 'add', path: '/spec/initContainers/-', value: { name: 'git-sync-init' } }],
        [{ op: 'add', path: '/spec/containers/0/env/-', value: { name: 'X', value: '1' } }],
      ];
      for (const ops of missing) {
        expect(() => kubectlPatch(pod(), ops), ops[0]!.path).toThrow(KubectlPatchError);
        expect(() => applyPatchToCopy(pod(), ops), ops[0]!.path).toThrow();
      }
    });

    it('keeps every field of a pod as written: unknown fields, nulls, status', () => {
      const doc = { ...pod(), status: { phase: 'Pending' } };
      expect(kubectlPatch(doc, [])).toStrictEqual(doc);
    });

    it('keeps an empty metadata.namespace, which kubectl itself drops', () => {
      const doc = { ...pod(), metadata: { ...pod().metadata, namespace: '' } };
      const ops: Operation[] = [{ op: 'add', path: '/metadata/annotations/x', value: 'y' }];
      expect(kubectlPatch(doc, ops)).toStrictEqual(applyPatchToCopy(doc, ops));
    });

    it('works on pods without apiVersion and kind, which kubectl itself refuses', () => {
      const { apiVersion: _a, kind: _k, ...bare } = pod();
      const ops: Operation[] = [{ op: 'add', path: '/metadata/annotations/x', value: 'y' }];
      expect(kubectlPatch(bare, ops)).toStrictEqual(applyPatchToCopy(bare, ops));
    });

    it('does not modify its input', () => {
      const doc = pod();
      kubectlPatch(doc, [{ op: 'add', path: '/metadata/annotations/x', value: 'y' }]);
      expect(doc).toStrictEqual(pod());
    });
  },
);

describe('normaliseKubectlOutput', () => {
  it('removes only the type fields the input lacked and restores only an empty namespace', () => {
    const input = { metadata: { namespace: '', name: 'p' }, spec: {} };
    const output = { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'p' }, spec: {} };
    expect(normaliseKubectlOutput(input, output)).toStrictEqual(input);
    const typed = { apiVersion: 'v1', kind: 'Pod', metadata: { namespace: 'team-a' } };
    expect(normaliseKubectlOutput(typed, { ...typed, metadata: {} })).toStrictEqual({ ...typed, metadata: {} });
  });
});

describe('applyPatchToCopy', () => {
  it('returns a new document and leaves the input alone', () => {
    const doc = pod();
    const out = applyPatchToCopy(doc, [{ op: 'add', path: '/metadata/annotations/x', value: 'y' }]);
    expect(doc).toStrictEqual(pod());
    expect((out as ReturnType<typeof pod>).metadata.annotations).toHaveProperty('x', 'y');
  });
});
