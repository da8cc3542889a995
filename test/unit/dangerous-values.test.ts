/**
 * Values that are well-formed but dangerous (issue 15, item 7): env names
 * that change how programs are found, loaded or configured, mount paths
 * over system directories, and refs with invisible or text-direction
 * characters are refused with the reason; an env variable the container may
 * already get is a warning.
 */
import { describe, expect, test } from 'vitest';
import { formatProblem, injectPod, quote } from '../../src/engine/index.ts';
import { parseEnvName } from '../../src/engine/values/names.ts';
import { parseMountPath } from '../../src/engine/values/path.ts';
import { parseRef } from '../../src/engine/values/ref.ts';
import { displayWebhookUrl } from '../../src/engine/values/webhook.ts';
import { mustCompile } from '../../src/policy/compile.ts';
import { BUILTIN_POLICY } from '../../src/policy/builtin.ts';

const ctx = { policy: mustCompile(BUILTIN_POLICY).engine, cluster: {}, version: '0.0.0-test' };
const REPO = 'https://github.com/acme/dags.git';
const failure = (p: { ok: boolean; code?: string; message?: string }) => (p.ok ? 'ok' : `${p.code}: ${p.message}`);

describe('env names', () => {
  test.each([
    ['PATH', 'tells programs where to find executables'],
    ['LD_PRELOAD', 'tells the dynamic loader'],
    ['LD_LIBRARY_PATH', 'tells the dynamic loader'],
    ['LD_AUDIT', 'tells the dynamic loader'],
    ['PYTHONPATH', 'makes an interpreter load code'],
    ['BASH_ENV', 'makes a shell read or run it'],
    ['ENV', 'makes a shell read or run it'],
    ['HOME', 'where their home, configuration'],
    ['SHELL', 'where their home, configuration'],
    ['KUBERNETES_SERVICE_HOST', 'is how programs find the Kubernetes API'],
    ['KUBERNETES_PORT_443_TCP_ADDR', 'is how programs find the Kubernetes API'],
    ['IFS', 'changes how the shell splits words'],
    ['NODE_OPTIONS', 'makes an interpreter load code'],
    ['PERL5LIB', 'makes an interpreter load code'],
    ['RUBYLIB', 'makes an interpreter load code'],
    ['JAVA_TOOL_OPTIONS', 'makes an interpreter load code'],
    ['GIT_SSH_COMMAND', 'changes what git reads, runs or writes'],
    ['SSL_CERT_FILE', 'sets which certificates are trusted'],
    ['http_proxy', 'routes network traffic'],
    ['Path', 'tells programs where to find executables'],
  ])('%s is refused: it %s', (name, reason) => {
    const p = parseEnvName(name);
    expect(failure(p).startsWith(`ENV_NAME_NOT_ALLOWED: ${quote(name)} `)).toBe(true);
    expect(p.ok ? '' : p.message).toContain(reason);
    expect(p.ok ? '' : p.message).toContain("use a name of the app's own");
  });

  test.each(['AIRFLOW__CORE__DAGS_FOLDER', 'DAGS_FOLDER', 'GIT_PATH', 'PATH_TO_DAGS', 'MY_HOME_DIR', 'DBT_PROJECT_DIR', '_X'])('%s is accepted', (name) => {
    expect(parseEnvName(name)).toEqual({ ok: true, value: name });
  });

  test('a pod that asks for one is denied with the reason', () => {
    const pod = { metadata: { annotations: { 'gitsync.dev/repo': REPO, 'gitsync.dev/env': 'LD_PRELOAD' } }, spec: { containers: [{ name: 'app' }] } };
    const r = injectPod({ pod, namespace: 'team-a' }, ctx);
    expect(r.outcome).toBe('denied');
    expect(r.errors.map(formatProblem)).toEqual([
      'gitsync.dev/env: "LD_PRELOAD" tells the dynamic loader what to load into every program, and its value would point into the repository; use a name of the app\'s own, such as DAGS_FOLDER [ENV_NAME_NOT_ALLOWED]',
    ]);
  });
});

describe('env variables the container may already have', () => {
  const inject = (container: Record<string, unknown>) =>
    injectPod(
      { pod: { metadata: { annotations: { 'gitsync.dev/repo': REPO, 'gitsync.dev/env': 'DAGS_FOLDER' } }, spec: { containers: [{ name: 'app', ...container }] } }, namespace: 'team-a' },
      ctx,
    );

  test('set in env: left as is, with a warning', () => {
    const r = inject({ env: [{ name: 'DAGS_FOLDER', value: '/mine' }] });
    expect(r.outcome).toBe('injected');
    expect(r.warnings.map((w) => w.code)).toEqual(['ENV_ALREADY_SET']);
  });

  test('maybe set by envFrom, whose keys the injector cannot see: set, with a warning saying the injected value wins', () => {
    const r = inject({ envFrom: [{ configMapRef: { name: 'app-env' } }] });
    expect(r.outcome).toBe('injected');
    expect(r.warnings.map(formatProblem)).toEqual([
      'gitsync.dev/env: container app has envFrom, whose keys the injector cannot see; if one of them is "DAGS_FOLDER", the injected value (/git/repo) replaces it [ENV_FROM_MAY_SET]',
    ]);
  });

  test('no envFrom, no warning', () => {
    expect(inject({ envFrom: [] }).warnings).toEqual([]);
  });
});

describe('mount paths', () => {
  test.each([
    ['/', 'PATH_INVALID'],
    ['/etc', 'is /etc, which holds the system configuration'],
    ['/etc/', 'is /etc, which holds the system configuration'],
    ['/etc/ssl/certs', 'is inside /etc/ssl, which holds the trusted certificates'],
    ['/proc', "is /proc, which holds the kernel's process interface"],
    ['/proc/self', 'is inside /proc'],
    ['/sys', 'is /sys'],
    ['/dev', 'is /dev, which holds device files'],
    ['/dev/shm', 'is inside /dev'],
    ['/bin', 'is /bin, which holds programs'],
    ['/sbin', 'is /sbin'],
    ['/lib', 'is /lib, which holds libraries'],
    ['/lib64', 'is /lib64'],
    ['/libx32/x', 'is inside /libx32'],
    ['/usr', 'is /usr, which holds the installed system'],
    ['/usr/bin', 'is /usr/bin, which holds programs'],
    ['/usr//bin/.', 'is /usr/bin'],
    ['/usr/lib/python3/dist-packages', 'is inside /usr/lib'],
    ['/usr/libexec', 'is /usr/libexec'],
    ['/usr/local/bin', 'is /usr/local/bin'],
    ['/usr/local/lib/python3.12/site-packages', 'is inside /usr/local/lib'],
    ['/usr/share', 'is /usr/share'],
    ['/boot', 'is /boot'],
    ['/run', 'is /run'],
    ['/run/secrets', 'is inside /run'],
    ['/var', 'is /var'],
    ['/var/run', 'is /var/run'],
    ['/var/run/secrets/kubernetes.io/serviceaccount', 'is inside /var/run, which holds runtime state, sockets and the service account token'],
    ['/tmp', 'is /tmp, which holds temporary files'],
    ['/var/tmp', 'is /var/tmp'],
    ['/root/.ssh', 'is inside /root'],
    ['/home', 'is /home'],
  ])('%s is refused (%s)', (raw, text) => {
    const p = parseMountPath(raw);
    expect(p.ok).toBe(false);
    expect(failure(p)).toContain(text);
    if (!text.endsWith('INVALID')) expect(failure(p)).toMatch(/^MOUNT_PATH_NOT_ALLOWED: .*use a directory of the app's own, such as \/git/);
  });

  test.each([
    ['/git', '/git'],
    ['/opt/airflow/dags', '/opt/airflow/dags'],
    ['/etc/app/config', '/etc/app/config'],
    ['/etc/prometheus/rules', '/etc/prometheus/rules'],
    ['/usr/share/nginx/html', '/usr/share/nginx/html'],
    ['/srv/www/', '/srv/www'],
    ['/home/jovyan/work', '/home/jovyan/work'],
    ['/library/docs', '/library/docs'],
    ['/tmp/site', '/tmp/site'],
  ])('%s is accepted', (raw, value) => {
    expect(parseMountPath(raw)).toEqual({ ok: true, value });
  });
});

describe('refs with invisible or text-direction characters', () => {
  test.each([
    ['main\u202e', 'U+202E'],
    ['\u2066main\u2069', 'U+2066'],
    ['ma\u200bin', 'U+200B'],
    ['release\u200d/1', 'U+200D'],
    ['v1\u2060.0', 'U+2060'],
    ['main\u200e', 'U+200E'],
    ['\u061cmain', 'U+061C'],
  ])('%j is refused, naming %s', (raw, cp) => {
    const p = parseRef(raw);
    expect(failure(p)).toMatch(/^REF_INVALID: /);
    expect(failure(p)).toContain(`contains ${cp}, an invisible or text-direction character`);
  });

  test('the denial shows the character escaped, never raw', () => {
    const pod = { metadata: { annotations: { 'gitsync.dev/repo': REPO, 'gitsync.dev/ref': 'main\u202e' } }, spec: { containers: [{ name: 'app' }] } };
    const r = injectPod({ pod, namespace: 'team-a' }, ctx);
    const text = r.errors.map(formatProblem).join('\n');
    expect(text).toContain('"main\\u202e" contains U+202E');
    expect(text).not.toMatch(/[\u202a-\u202e\u2066-\u2069\u200b-\u200f]/);
  });
});

describe('a webhook URL that carries credentials, a query or a fragment', () => {
  // Refused (URL_INVALID), and every message shows it masked as a repository URL is: all up to the
  // last '@', a user:password without one, the text of a query or fragment.
  test.each([
    'http://user:pa@ssSECRET@localhost:8080/x',
    'http://user:p/aSECRET@localhost/x',
    'http://user:SECRET@localhost:8080/x',
    'http://SECRET@localhost:8080/x',
    'http://localhost:8080/reload?token=SECRET',
    'http://localhost:8080/reload#SECRET',
  ])('%s: refused, and no problem repeats the secret', (url) => {
    const pod = { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'p', annotations: { 'gitsync.dev/repo': REPO, 'gitsync.dev/webhook-url': url } }, spec: { containers: [{ name: 'app', image: 'a' }] } };
    const result = injectPod({ pod, namespace: 'apps' }, ctx);
    expect(result.outcome).toBe('denied');
    expect(result.errors.map((p) => p.code)).toContain('URL_INVALID');
    const said = JSON.stringify([...result.errors, ...result.warnings, ...result.errors.map(formatProblem)]);
    expect(said).not.toContain('SECRET');
  });

  test('a URL the injector accepts reads as written', () => {
    expect(displayWebhookUrl('http://localhost:8080/-/reload')).toBe('http://localhost:8080/-/reload');
    expect(displayWebhookUrl('http://[::1]:8080/')).toBe('http://[::1]:8080/');
  });
});
