import { describe, expect, test } from 'vitest';
import { formatDuration, parseDuration } from '../../src/engine/values/duration.ts';
import { parseInteger } from '../../src/engine/values/integer.ts';
import { parseContainerList, parseEnvName, parseObjectName, parseSecretKey } from '../../src/engine/values/names.ts';
import { parseAbsolutePath, parseRelativePath } from '../../src/engine/values/path.ts';
import { parseRef } from '../../src/engine/values/ref.ts';
import { displayRepo, parseRepo } from '../../src/engine/values/repo.ts';
import type { Parsed } from '../../src/engine/values/result.ts';

const value = <T>(p: Parsed<T>): T => {
  if (!p.ok) throw new Error(`expected ok, got ${p.code}: ${p.message}`);
  return p.value;
};
const code = <T>(p: Parsed<T>): string => (p.ok ? 'ok' : p.code);

describe('parseRepo', () => {
  test.each([
    ['https://github.com/acme/dags.git', { transport: 'https', host: 'github.com', path: 'acme/dags.git' }],
    ['https://GitLab.Example.com:8443/group/sub/repo', { transport: 'https', host: 'gitlab.example.com', port: 8443, path: 'group/sub/repo' }],
    ['ssh://git@github.com/acme/dags.git', { transport: 'ssh', host: 'github.com', path: 'acme/dags.git' }],
    ['ssh://git@git.example.com:2222/platform/config.git', { transport: 'ssh', host: 'git.example.com', port: 2222, path: 'platform/config.git' }],
    ['git@github.com:acme/dags.git', { transport: 'ssh', host: 'github.com', path: 'acme/dags.git' }],
    ['github.com:acme/dags', { transport: 'ssh', host: 'github.com', path: 'acme/dags' }],
    ['git@[2001:db8::1]:acme/dags.git', { transport: 'ssh', host: '2001:db8::1', path: 'acme/dags.git' }],
  ])('accepts %s', (raw, expected) => {
    expect(value(parseRepo(raw))).toEqual({ url: raw, ...expected });
  });

  test.each([
    ['http://github.com/acme/dags.git', 'REPO_INVALID', 'uses http://, which is not encrypted'],
    ['git://github.com/acme/dags.git', 'REPO_INVALID', 'uses git://, which is not encrypted'],
    ['file:///etc/passwd', 'REPO_INVALID', 'uses file://, which is not supported'],
    ['ext::sh -c touch% /tmp/x', 'REPO_INVALID', 'contains white space'],
    ['ext::sh', 'REPO_INVALID', 'names a git remote helper'],
    ['/srv/git/repo', 'REPO_INVALID', 'is not a git URL'],
    ['-oProxyCommand=evil:repo', 'REPO_INVALID', 'invalid host'],
    ['ssh://-oProxyCommand=x/repo', 'REPO_INVALID', 'invalid host'],
    ['git@github.com:--upload-pack=x', 'REPO_INVALID', 'no valid repository path'],
    ['https://github.com/', 'REPO_INVALID', 'no valid repository path'],
    ['https://github.com/acme/../etc', 'REPO_INVALID', 'no valid repository path'],
    ['https://github.com/acme/dags.git?ref=x', 'REPO_INVALID', 'has a query or fragment'],
  ])('refuses %s', (raw, expectedCode, text) => {
    const p = parseRepo(raw);
    expect(code(p)).toBe(expectedCode);
    expect(p.ok ? '' : p.message).toContain(text);
  });

  test('a URL with credentials is refused without echoing them', () => {
    const p = parseRepo('https://user:ghp_secret@github.com/acme/dags.git');
    expect(p).toEqual({
      ok: false,
      code: 'REPO_CREDENTIALS_IN_URL',
      message:
        '"https://***@github.com/acme/dags.git" carries credentials; remove them from the URL, put them in a Secret and name it with the secret annotation',
    });
    expect(code(parseRepo('https://ghp_token@github.com/acme/dags.git'))).toBe('REPO_CREDENTIALS_IN_URL');
    expect(code(parseRepo('ssh://git:pw@github.com/acme/dags.git'))).toBe('REPO_CREDENTIALS_IN_URL');
  });

  // The spellings of issue 15 that were echoed in full or admitted and stored in GITSYNC_REPO.
  test.each([
    ['https://user:p/TOKEN@git.example.com/acme/dags.git', '"https://***@git.example.com/acme/dags.git" has an \'@\' after the host'],
    ['https://user:p#TOKEN@git.example.com/acme/dags.git', '"https://***@git.example.com/acme/dags.git" has an \'@\' after the host'],
    ['https://user:p?TOKEN@git.example.com/acme/dags.git', '"https://***@git.example.com/acme/dags.git" has an \'@\' after the host'],
    ['https://user:p TOKEN@git.example.com/acme/dags.git', '"https://***@git.example.com/acme/dags.git" carries credentials'],
    ['user:TOKEN@git.example.com:acme/dags.git', '"***@git.example.com:acme/dags.git" carries credentials'],
    ['oauth2:TOKEN@git.example.com/acme/dags.git', '"***@git.example.com/acme/dags.git" carries credentials'],
    ['git@git.example.com:acme/TOKEN@dags.git', '"***@dags.git" carries credentials'],
    ['https://user:TOKEN\uff20git.example.com/acme/dags.git', 'carries credentials'],
  ])('%s is refused as credentials and the message does not repeat them', (raw, text) => {
    const p = parseRepo(raw);
    expect(code(p)).toBe('REPO_CREDENTIALS_IN_URL');
    expect(p.ok ? '' : p.message).toContain(text);
    expect(p.ok ? '' : p.message).not.toContain('TOKEN');
  });

  test.each([
    ['https://git.example.com/acme/dags.git?private_token=TOKEN', 'has a query or fragment'],
    ['https://user:TOKEN/acme/dags.git', 'is not a valid URL'],
  ])('%s is refused without repeating what may be a token', (raw, text) => {
    const p = parseRepo(raw);
    expect(code(p)).toBe('REPO_INVALID');
    expect(p.ok ? '' : p.message).toContain(text);
    expect(p.ok ? '' : p.message).not.toContain('TOKEN');
  });

  test('displayRepo shows an accepted URL as written, anything else masked', () => {
    expect(displayRepo('git@github.com:acme/dags.git')).toBe('git@github.com:acme/dags.git');
    expect(displayRepo('https://u:TOKEN@github.com/acme/dags.git')).toBe('https://***@github.com/acme/dags.git');
  });
});

describe('parseRef', () => {
  test.each(['HEAD', 'main', 'release/2.10', 'v1.2.0', 'feature/JIRA-12_x', 'a'.repeat(40), 'b'.repeat(64), '2024'])('accepts %s', (ref) => {
    const p = parseRef(ref);
    expect(p).toEqual({ ok: true, value: ref });
  });

  test.each([
    ['--upload-pack=x', "starts with '-'"],
    ['-main', "starts with '-'"],
    ['main..dev', "contains '..'"],
    ['a b', 'contains a space'],
    ['feat~1', 'contains a space or one of'],
    ['x:y', 'contains a space or one of'],
    ['refs/heads/', "has an empty part between '/'"],
    ['main.lock', "ending with '.lock'"],
    ['.hidden', "starting with '.'"],
    ['main.', "ends with '.'"],
    ['@', "is '@'"],
    ['x@{1}', "contains '@{'"],
  ])('refuses %s', (ref, text) => {
    const p = parseRef(ref);
    expect(code(p)).toBe('REF_INVALID');
    expect(p.ok ? '' : p.message).toContain(text);
  });

  test('an abbreviated commit is accepted with a note', () => {
    const p = parseRef('3f9c2ab');
    expect(p.ok && p.note?.code).toBe('REF_LOOKS_ABBREVIATED');
  });
});

describe('durations', () => {
  test.each([
    ['30s', 30_000],
    ['5m', 300_000],
    ['1h30m', 5_400_000],
    ['500ms', 500],
    ['1.5s', 1500],
    ['90s', 90_000],
  ])('%s is %d ms', (raw, ms) => expect(value(parseDuration(raw))).toBe(ms));

  test.each(['5x', '', '30', '-5s', '1d', '0s', '25h', 's', '1 s'])('refuses %j', (raw) => {
    expect(code(parseDuration(raw))).toBe('DURATION_INVALID');
  });

  test.each([
    [500, '500ms'],
    [30_000, '30s'],
    [90_000, '1m30s'],
    [3_600_000, '1h'],
    [5_400_000, '1h30m'],
  ])('formats %d ms as %s', (ms, text) => expect(formatDuration(ms)).toBe(text));
});

describe('integers, names and paths', () => {
  test('integers', () => {
    expect(value(parseInteger('0', 0, 10))).toBe(0);
    expect(code(parseInteger('-1', 0, 10))).toBe('INTEGER_INVALID');
    expect(code(parseInteger('1e3', 0, 10_000))).toBe('INTEGER_INVALID');
    expect(code(parseInteger('0x10', 0, 100))).toBe('INTEGER_INVALID');
    expect(code(parseInteger('11', 0, 10))).toBe('INTEGER_INVALID');
  });

  test('object names, secret keys, env names', () => {
    expect(value(parseObjectName('git-creds.v2'))).toBe('git-creds.v2');
    expect(code(parseObjectName('My_Secret'))).toBe('NAME_INVALID');
    expect(value(parseSecretKey('id_ed25519'))).toBe('id_ed25519');
    expect(code(parseSecretKey('a/b'))).toBe('SECRET_KEY_INVALID');
    expect(value(parseEnvName('AIRFLOW__CORE__DAGS_FOLDER'))).toBe('AIRFLOW__CORE__DAGS_FOLDER');
    expect(code(parseEnvName('1X'))).toBe('ENV_NAME_INVALID');
    expect(code(parseEnvName('A=B'))).toBe('ENV_NAME_INVALID');
  });

  test('container lists are trimmed and deduplicated', () => {
    expect(value(parseContainerList(' web, worker ,web'))).toEqual(['web', 'worker']);
    expect(code(parseContainerList('web,,worker'))).toBe('NAME_INVALID');
    expect(code(parseContainerList('Web'))).toBe('NAME_INVALID');
  });

  test('absolute paths are normalised; relative, root and .. are refused', () => {
    expect(value(parseAbsolutePath('/opt//airflow/./dags/'))).toBe('/opt/airflow/dags');
    expect(code(parseAbsolutePath('opt/dags'))).toBe('PATH_INVALID');
    expect(code(parseAbsolutePath('/'))).toBe('PATH_INVALID');
    expect(code(parseAbsolutePath('/opt/../etc'))).toBe('PATH_INVALID');
    expect(code(parseAbsolutePath('/opt/a:b'))).toBe('PATH_INVALID');
  });

  test('sub-paths stay inside the repository', () => {
    expect(value(parseRelativePath('dags/'))).toBe('dags');
    expect(value(parseRelativePath('.'))).toBe('');
    expect(code(parseRelativePath('../x'))).toBe('PATH_INVALID');
    expect(code(parseRelativePath('/dags'))).toBe('PATH_INVALID');
  });
});
