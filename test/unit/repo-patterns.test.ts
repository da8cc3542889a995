import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parseRepo, type GitRepo } from '../../src/engine/values/repo.ts';
import { describePatterns, repoAllowed, type RepoPattern } from '../../src/engine/values/repo-pattern.ts';
import { normaliseRepoPattern, parseRepoPattern } from '../../src/policy/formats.ts';

function patterns(...raw: string[]): RepoPattern[] {
  return raw.map((r) => {
    const p = parseRepoPattern(r);
    if (!p.ok) throw new Error(`${r}: ${p.message}`);
    return p.value;
  });
}

function repo(url: string): GitRepo {
  const r = parseRepo(url);
  if (!r.ok) throw new Error(`${url}: ${r.message}`);
  return r.value;
}

const allowed = (list: RepoPattern[], url: string): boolean => repoAllowed(list, repo(url));

describe('parseRepoPattern: the canonical spelling', () => {
  it.each([
    ['github.com/acme/dags', 'github.com/acme/dags', 'exact'],
    ['github.com/acme/dags.git', 'github.com/acme/dags', 'exact'],
    ['GitHub.COM/acme/*', 'github.com/acme/*', 'one'],
    ['gitlab.example.com/data/**', 'gitlab.example.com/data/**', 'any'],
    ['git.example.com/**', 'git.example.com/**', 'any'],
    ['git.example.com:2222/team/*', 'git.example.com:2222/team/*', 'one'],
    ['[FD00::1]:8443/team/app', '[fd00::1]:8443/team/app', 'exact'],
    ['10.0.0.5/ops/config.git', '10.0.0.5/ops/config', 'exact'],
  ])('%s is %s (%s)', (raw, text, wildcard) => {
    const p = parseRepoPattern(raw);
    expect(p.ok && p.value.text).toBe(text);
    expect(p.ok && p.value.wildcard).toBe(wildcard);
    expect(normaliseRepoPattern(raw)).toEqual({ ok: true, value: text });
  });

  it('keeps the port apart from the host, and none when none is written', () => {
    expect(parseRepoPattern('git.example.com:2222/x')).toMatchObject({ ok: true, value: { host: 'git.example.com', port: 2222, parts: ['x'] } });
    const noPort = parseRepoPattern('git.example.com/x');
    expect(noPort.ok && 'port' in noPort.value).toBe(false);
  });
});

describe('parseRepoPattern: refusals say what to write', () => {
  it.each([
    ['https://github.com/acme/*', '"https://github.com/acme/*" is a URL; write the pattern without scheme and user, as "github.com/acme/*"'],
    ['ssh://git@gitlab.example.com/data/**', '"ssh://git@gitlab.example.com/data/**" is a URL; write the pattern without scheme and user, as "gitlab.example.com/data/**"'],
    ['git@github.com:acme/dags.git', '"git@github.com:acme/dags.git" is a URL; write the pattern without scheme and user, as "github.com/acme/dags.git"'],
    ['github.com', '"github.com" names no path; write "github.com/**" to allow every repository on the host'],
    ['github.com/', '"github.com/" names no path; write "github.com/**" to allow every repository on the host'],
    ['github.com/*/dags', '"github.com/*/dags" has a wildcard inside the path; a wildcard is a whole last part: * (one level) or ** (any depth)'],
    ['github.com/acme/dags-*', '"github.com/acme/dags-*" has a wildcard inside the path; a wildcard is a whole last part: * (one level) or ** (any depth)'],
    ['github.com/acme//dags', '"github.com/acme//dags" has an invalid path part ""; use host/path, such as github.com/acme/*, gitlab.example.com/data/** or github.com/acme/dags'],
    ['github.com/acme/../evil', '"github.com/acme/../evil" has an invalid path part ".."; use host/path, such as github.com/acme/*, gitlab.example.com/data/** or github.com/acme/dags'],
    ['github.com/acme/%2e%2e', '"github.com/acme/%2e%2e" has an invalid path part "%2e%2e"; use host/path, such as github.com/acme/*, gitlab.example.com/data/** or github.com/acme/dags'],
    ['-oProxyCommand=x/acme/*', '"-oProxyCommand=x/acme/*" has an invalid host "-oProxyCommand=x"; use host/path, such as github.com/acme/*, gitlab.example.com/data/** or github.com/acme/dags'],
    ['github.com:/acme/*', '"github.com:/acme/*" has an invalid host "github.com:"; use host/path, such as github.com/acme/*, gitlab.example.com/data/** or github.com/acme/dags'],
    ['github.com:70000/acme/*', '"github.com:70000/acme/*" has an invalid host "github.com:70000"; use host/path, such as github.com/acme/*, gitlab.example.com/data/** or github.com/acme/dags'],
    ['github.com:0/acme/*', '"github.com:0/acme/*" has port 0; use a port from 1 to 65535, or none to match any port'],
    ['', '"" is not a repository pattern; use host/path, such as github.com/acme/*, gitlab.example.com/data/** or github.com/acme/dags'],
    ['github.com/acme /*', '"github.com/acme /*" is not a repository pattern; use host/path, such as github.com/acme/*, gitlab.example.com/data/** or github.com/acme/dags'],
  ])('%j', (raw, message) => {
    expect(parseRepoPattern(raw)).toEqual({ ok: false, code: 'POLICY_VALUE_INVALID', message });
  });

  it('never throws, and what it accepts it accepts again in canonical form', () => {
    fc.assert(
      fc.property(fc.oneof(fc.string(), fc.stringMatching(/^[a-zA-Z0-9.:[\]*/@%-]{0,40}$/)), (raw) => {
        const p = parseRepoPattern(raw);
        if (p.ok) expect(normaliseRepoPattern(p.value.text)).toEqual({ ok: true, value: p.value.text });
      }),
    );
  });
});

describe('repoAllowed: one repository, however its URL is written', () => {
  const list = patterns('github.com/acme/dags');
  it.each([
    'https://github.com/acme/dags.git',
    'https://github.com/acme/dags',
    'https://github.com/acme/dags/',
    'https://github.com:443/acme/dags.git',
    'ssh://git@github.com/acme/dags.git',
    'ssh://git@github.com:22/acme/dags',
    'ssh://github.com/acme/dags.git',
    'git@github.com:acme/dags.git',
    'git@github.com:acme/dags',
    'github.com:acme/dags.git',
    'https://GITHUB.com/acme/dags.git',
    'git@GitHub.Com:acme/dags.git',
    'https://github.com/acme/%64ags.git',
  ])('%s matches github.com/acme/dags', (url) => {
    expect(allowed(list, url)).toBe(true);
  });

  it.each([
    'https://github.com/acme/dags-old.git',
    'https://github.com/acme/dags/extra.git',
    'https://github.com/Acme/dags.git',
    'https://github.com/acme/DAGS.git',
    'https://github.com/other/dags.git',
    'https://gitlab.com/acme/dags.git',
    'https://github.com.evil.example/acme/dags.git',
    'https://evil.example/github.com/acme/dags.git',
    'https://github.com/acme/dags.git.git',
  ])('%s does not', (url) => {
    expect(allowed(list, url)).toBe(false);
  });
});

describe('repoAllowed: wildcards', () => {
  it('* matches one more part, ** one or more, an exact pattern only itself', () => {
    const one = patterns('github.com/acme/*');
    expect(allowed(one, 'https://github.com/acme/dags.git')).toBe(true);
    expect(allowed(one, 'https://github.com/acme/group/dags.git')).toBe(false);
    expect(allowed(one, 'https://github.com/acme.git')).toBe(false);
    const any = patterns('gitlab.example.com/data/**');
    expect(allowed(any, 'https://gitlab.example.com/data/dags.git')).toBe(true);
    expect(allowed(any, 'git@gitlab.example.com:data/ml/team/models.git')).toBe(true);
    expect(allowed(any, 'https://gitlab.example.com/data.git')).toBe(false);
    expect(allowed(any, 'https://gitlab.example.com/database/x.git')).toBe(false);
    const host = patterns('git.example.com/**');
    expect(allowed(host, 'https://git.example.com/anything/at/all.git')).toBe(true);
    expect(allowed(host, 'https://git.example.org/anything.git')).toBe(false);
  });

  it('an escaped slash cannot make one part look like two, or two like one', () => {
    const one = patterns('github.com/acme/*');
    expect(allowed(one, 'https://github.com/acme/sub%2Fdags.git')).toBe(false);
    expect(allowed(patterns('github.com/**'), 'https://github.com/acme%2Fdags.git')).toBe(false);
    expect(allowed(one, 'https://github.com/acme/%ZZ.git')).toBe(false);
  });
});

describe('repoAllowed: ports', () => {
  it('a pattern without a port matches every port of its host', () => {
    const list = patterns('gitlab.example.com/data/**');
    expect(allowed(list, 'ssh://git@gitlab.example.com:2222/data/x.git')).toBe(true);
    expect(allowed(list, 'https://gitlab.example.com:8443/data/x.git')).toBe(true);
  });

  it('a pattern with a port matches URLs that reach that port, the scheme default included', () => {
    const https = patterns('gitlab.example.com:443/data/**');
    expect(allowed(https, 'https://gitlab.example.com/data/x.git')).toBe(true);
    expect(allowed(https, 'git@gitlab.example.com:data/x.git')).toBe(false);
    const ssh = patterns('gitlab.example.com:22/data/**');
    expect(allowed(ssh, 'git@gitlab.example.com:data/x.git')).toBe(true);
    expect(allowed(ssh, 'ssh://git@gitlab.example.com/data/x.git')).toBe(true);
    expect(allowed(ssh, 'https://gitlab.example.com/data/x.git')).toBe(false);
    const custom = patterns('gitlab.example.com:2222/data/**');
    expect(allowed(custom, 'ssh://git@gitlab.example.com:2222/data/x.git')).toBe(true);
    expect(allowed(custom, 'ssh://git@gitlab.example.com/data/x.git')).toBe(false);
  });

  it('IPv6 hosts compare without brackets or case', () => {
    expect(allowed(patterns('[FD00::1]/ops/*'), 'ssh://git@[fd00::1]:2222/ops/config.git')).toBe(true);
  });
});

describe('repoAllowed: the list', () => {
  it('an empty list allows every repository', () => {
    expect(allowed([], 'https://anywhere.example/any/repo.git')).toBe(true);
  });

  it('a repository is allowed when any pattern matches', () => {
    const list = patterns('github.com/acme/*', 'gitlab.example.com/data/**');
    expect(allowed(list, 'git@gitlab.example.com:data/a/b.git')).toBe(true);
    expect(allowed(list, 'git@github.com:acme/b.git')).toBe(true);
    expect(allowed(list, 'git@github.com:other/b.git')).toBe(false);
  });

  it('https, ssh:// and scp-style forms of a repository always get the same answer', () => {
    const list = patterns('github.com/acme/*', 'github.com/org-a/**', 'gitlab.example.com/data/dags', 'gitlab.example.com:2222/ops/*');
    const part = fc.constantFrom('acme', 'org-a', 'data', 'dags', 'ops', 'x', 'team');
    const host = fc.constantFrom('github.com', 'GitHub.com', 'gitlab.example.com');
    fc.assert(
      fc.property(host, fc.array(part, { minLength: 1, maxLength: 4 }), fc.boolean(), (h, parts, dotGit) => {
        const path = `${parts.join('/')}${dotGit ? '.git' : ''}`;
        const answers = [`https://${h}/${path}`, `ssh://git@${h}/${path}`, `git@${h}:${path}`].map((url) => allowed(list, url));
        expect(new Set(answers).size).toBe(1);
      }),
    );
  });

  it('describes itself for a denial, listing at most ten patterns', () => {
    expect(describePatterns(patterns('github.com/acme/*', 'gitlab.example.com/data/**'))).toBe('github.com/acme/*, gitlab.example.com/data/**');
    const many = patterns(...Array.from({ length: 13 }, (_, i) => `github.com/team-${i}/*`));
    expect(describePatterns(many)).toBe(`${many.slice(0, 10).map((p) => p.text).join(', ')} (and 3 more)`);
  });
});
