/**
 * The checkers the properties rely on must catch what they claim to catch:
 * a checker that finds nothing would make every property pass.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { podArb, runs } from '../support/arbitraries.ts';
import { extensionProblems, kubeletExpand, normaliseMountPath, podInvariantProblems } from '../support/invariants.ts';

const valid = () => ({
  metadata: { generateName: 'web-' },
  spec: {
    initContainers: [{ name: 'init', restartPolicy: 'Always' }],
    containers: [
      {
        name: 'app',
        env: [
          { name: 'A', value: '' },
          { name: 'B', valueFrom: { fieldRef: { fieldPath: 'metadata.name' } } },
        ],
        volumeMounts: [{ name: 'data', mountPath: '/data' }],
      },
    ],
    volumes: [{ name: 'data', emptyDir: {} }],
  },
});

type Pod = ReturnType<typeof valid>;

describe('podInvariantProblems', () => {
  it('finds nothing wrong with a valid pod', () => {
    expect(podInvariantProblems(valid())).toEqual([]);
  });

  it('accepts every pod the generator makes', () => {
    fc.assert(
      fc.property(podArb({ oddMountPaths: true }), (pod) => {
        expect(podInvariantProblems(pod)).toEqual([]);
      }),
      { numRuns: runs(300) },
    );
  });

  const broken: [string, (p: Pod) => void, RegExp][] = [
    ['a container name used twice', (p) => p.spec.initContainers.push({ name: 'app', restartPolicy: 'Always' }), /app is used more than once/],
    ['an ephemeral container reusing a name', (p) => Object.assign(p.spec, { ephemeralContainers: [{ name: 'init' }] }), /init is used more than once/],
    ['a volume name used twice', (p) => p.spec.volumes.push({ name: 'data', emptyDir: {} }), /volume name data/],
    ['a mount without its volume', (p) => p.spec.containers[0]!.volumeMounts.push({ name: 'gone', mountPath: '/gone' }), /"gone", which the pod does not have/],
    ['two mounts at one path', (p) => p.spec.containers[0]!.volumeMounts.push({ name: 'data', mountPath: '/data/' }), /two volumes at \/data/],
    ['an env var without a name', (p) => p.spec.containers[0]!.env.push({ name: '', value: 'x' }), /has no name/],
    ['an env var with value and valueFrom', (p) => Object.assign(p.spec.containers[0]!.env[0]!, { valueFrom: {} }), /exactly one of value and valueFrom/],
    ['an env var with neither', (p) => p.spec.containers[0]!.env.push({ name: 'C' } as never), /exactly one of value and valueFrom/],
    ['an env var set twice', (p) => p.spec.containers[0]!.env.push({ name: 'A', value: 'again' }), /sets env A more than once/],
    ['a container name that is not a DNS label', (p) => (p.spec.containers[0]!.name = 'App_1'), /not a DNS label/],
    ['restartPolicy on an app container', (p) => Object.assign(p.spec.containers[0]!, { restartPolicy: 'Always' }), /only init containers/],
    ['restartPolicy other than Always on an init container', (p) => (p.spec.initContainers[0]!.restartPolicy = 'Never'), /only allow Always/],
  ];
  for (const [what, breakIt, problem] of broken) {
    it(`reports ${what}`, () => {
      const pod = valid();
      breakIt(pod);
      expect(podInvariantProblems(pod).join('\n')).toMatch(problem);
    });
  }

  it('normalises mount paths the way the container runtime resolves them', () => {
    expect(['/git', '/git/', '//git', '/./git', '/git/.'].map(normaliseMountPath)).toEqual(['/git', '/git', '/git', '/git', '/git']);
  });
});

describe('extensionProblems', () => {
  it('accepts additions, including over null members', () => {
    expect(extensionProblems({ a: [1], b: { c: 1 }, d: null }, { a: [1, 2], b: { c: 1, e: 2 }, d: { x: 1 }, f: 3 })).toEqual([]);
  });

  it('reports replaced, removed and reordered members', () => {
    expect(extensionProblems({ a: 1 }, { a: 2 })).toEqual(['/a changed from 1 to 2']);
    expect(extensionProblems({ a: 1 }, {})).toEqual(['/a was removed']);
    expect(extensionProblems({ l: [1, 2] }, { l: [0, 1, 2] })).toHaveLength(2);
    expect(extensionProblems({ l: [1, 2] }, { l: [1] })).toEqual(['/l lost items (2 → 1)']);
  });
});

describe('kubeletExpand', () => {
  // Cases from Kubernetes' third_party/forked/golang/expansion tests.
  const vars: Record<string, string> = { VAR_A: 'A', VAR_B: 'B', VAR_EMPTY: '' };
  const lookup = (name: string) => vars[name];
  const cases: [string, string][] = [
    ['$(VAR_A)', 'A'],
    ['___$(VAR_B)___', '___B___'],
    ['$(VAR_A)-$(VAR_B)', 'A-B'],
    ['$$(VAR_A)', '$(VAR_A)'],
    ['$$$(VAR_A)', '$A'],
    ['$$$$', '$$'],
    ['$(VAR_EMPTY)', ''],
    ['$(UNKNOWN)', '$(UNKNOWN)'],
    ['$(VAR_A', '$(VAR_A'],
    ['$VAR_A', '$VAR_A'],
    ['$', '$'],
    ['foo$', 'foo$'],
    ['$()', '$()'],
    ['no dollars', 'no dollars'],
  ];
  for (const [input, expected] of cases) {
    it(`${input} → ${expected || '(empty)'}`, () => {
      expect(kubeletExpand(input, lookup)).toBe(expected);
    });
  }

  it('leaves strings without $ alone', () => {
    fc.assert(
      fc.property(fc.string().filter((s) => !s.includes('$')), (s) => {
        expect(kubeletExpand(s, () => 'X')).toBe(s);
      }),
      { numRuns: runs(200) },
    );
  });

  it('undoes escaping every $ as $$, whatever is defined', () => {
    fc.assert(
      fc.property(fc.string({ unit: fc.constantFrom('$', '(', ')', 'A', '_', 'x') }), (s) => {
        // A replacer function: in a replacement string '$$' stands for a single '$'.
        expect(kubeletExpand(s.replaceAll('$', () => '$$'), () => 'X')).toBe(s);
      }),
      { numRuns: runs(500) },
    );
  });
});
