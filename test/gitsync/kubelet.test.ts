/**
 * The kubelet model itself (support/kubelet.ts), against the facts verified
 * on a real kubelet (/work/shared/k8s/README.md): env in order, a later
 * duplicate wins, a missing optional key is skipped, a missing required key
 * is CreateContainerConfigError; `$(VAR)` expansion; Secret and downwardAPI
 * files. Needs no binary, so it always runs.
 */
import { lstatSync, readFileSync, readlinkSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, test } from 'vitest';
import { CreateContainerConfigError, expand, FailedMount, PodSandbox } from './support/kubelet.ts';

const sandboxes: PodSandbox[] = [];
afterAll(() => sandboxes.forEach((s) => s.close()));

const ref = (name: string, key: string, optional?: boolean) => ({ name, valueFrom: { secretKeyRef: { name: 'creds', key, ...(optional && { optional }) } } });

async function sandboxFor(spec: Record<string, unknown>, secrets: Record<string, Record<string, string>> = {}, annotations: Record<string, string> = {}) {
  const { volumes = [], ...container } = spec;
  const pod = { metadata: { name: 'p', annotations }, spec: { containers: [{ name: 'c', image: 'x', ...container }], volumes } };
  const s = await PodSandbox.create(pod, { namespace: 'ns', fixtures: { secrets } });
  sandboxes.push(s);
  return s;
}

describe('kubelet model: env', () => {
  test('in order; a later duplicate name wins; a missing optional key is skipped', async () => {
    const env = ['GIT_SYNC_USERNAME', 'GITSYNC_USERNAME', 'username'].map((k) => ref('GITSYNC_USERNAME', k, true));
    const both = await sandboxFor({ env }, { creds: { GIT_SYNC_USERNAME: 'a', GITSYNC_USERNAME: 'b' } });
    expect(both.resolveEnv('c').get('GITSYNC_USERNAME')).toBe('b');
    const none = await sandboxFor({ env }, { creds: {} });
    expect(none.resolveEnv('c').has('GITSYNC_USERNAME')).toBe(false);
  });

  test("a missing required key or Secret is CreateContainerConfigError with the kubelet's message", async () => {
    const s = await sandboxFor({ env: [ref('U', 'username')] }, { creds: {} });
    expect(() => s.resolveEnv('c')).toThrow(new CreateContainerConfigError("couldn't find key username in Secret ns/creds"));
    const t = await sandboxFor({ env: [ref('U', 'username')] });
    expect(() => t.resolveEnv('c')).toThrow(new CreateContainerConfigError('secret "creds" not found'));
  });

  test('$(VAR) expands from earlier variables only; $$ is a literal $', async () => {
    expect(expand('a$(X)b$$(X)$(Y)$', (n) => (n === 'X' ? '1' : undefined))).toBe('a1b$(X)$(Y)$');
    const s = await sandboxFor({ env: [{ name: 'A', value: 'x$(B)' }, { name: 'B', value: 'b' }, { name: 'C', value: '$(B)-$$(B)' }] });
    expect([...s.resolveEnv('c')]).toEqual([['A', 'x$(B)'], ['B', 'b'], ['C', 'b-$(B)']]);
  });

  test('envFrom comes first; env entries override it', async () => {
    const s = await sandboxFor({ envFrom: [{ secretRef: { name: 'creds' } }], env: [{ name: 'K', value: 'env' }] }, { creds: { K: 'secret', L: 'l' } });
    expect(Object.fromEntries(s.resolveEnv('c'))).toEqual({ K: 'env', L: 'l' });
  });
});

describe('kubelet model: volumes and paths', () => {
  test('Secret files in the atomic-writer layout with defaultMode; downwardAPI from annotations; container paths map to them', async () => {
    const volumes = [
      { name: 'sec', secret: { secretName: 'creds', defaultMode: 0o440 } },
      { name: 'kh', downwardAPI: { items: [{ path: 'known_hosts', fieldRef: { fieldPath: "metadata.annotations['x/kh']" } }] } },
      { name: 'root', emptyDir: {} },
    ];
    const volumeMounts = [
      { name: 'sec', mountPath: '/etc/git-secret' },
      { name: 'kh', mountPath: '/etc/kh' },
      { name: 'root', mountPath: '/git' },
    ];
    const s = await sandboxFor({ volumes, volumeMounts, env: [{ name: 'KEYS', value: '/etc/git-secret/a:/etc/git-secret/b' }] }, { creds: { a: 'A' } }, { 'x/kh': 'line\n' });
    const a = s.hostPath('c', '/etc/git-secret/a')!;
    expect(readFileSync(a, 'utf8')).toBe('A');
    expect(lstatSync(a).isSymbolicLink()).toBe(true);
    expect(readlinkSync(join(s.volumeDir('sec'), '..data'))).toMatch(/^\.\.\d/);
    expect(statSync(a).mode & 0o777).toBe(0o440);
    expect(readFileSync(s.hostPath('c', '/etc/kh/known_hosts')!, 'utf8')).toBe('line\n');
    expect(statSync(s.volumeDir('root')).mode & 0o777).toBe(0o777);
    const p = s.process('c', { entrypoint: ['/bin/true'], env: [['HOME', '/tmp']] });
    expect(p.env.KEYS).toBe(`${s.volumeDir('sec')}/a:${s.volumeDir('sec')}/b`);
    expect(p.env.HOME).toBe('/tmp');
  });

  test('a Secret volume whose Secret is missing is a FailedMount', async () => {
    await expect(sandboxFor({ volumes: [{ name: 'sec', secret: { secretName: 'creds' } }] })).rejects.toThrow(FailedMount);
  });
});
