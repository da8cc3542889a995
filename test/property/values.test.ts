/**
 * Properties of the value parsers: what they accept is safe to hand to
 * git-sync, git and ssh, and what they return is already normal.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { formatDuration, parseDuration } from '../../src/engine/values/duration.ts';
import { parseAbsolutePath } from '../../src/engine/values/path.ts';
import { parseRef } from '../../src/engine/values/ref.ts';
import { parseRepo } from '../../src/engine/values/repo.ts';
import { refArb, repoArb, runs } from '../support/arbitraries.ts';

const RUNS = runs(1000);
const MAX_DURATION_MS = 24 * 3_600_000;

// C0 controls, DEL and C1 controls (NEL among them).
const CONTROL = ['\u0000', '\u0001', '\u0007', '\b', '\u001b', '\u001f', '\u007f', '\u0080', '\u0085', '\u009f'];
// Everything JavaScript's \s matches: ASCII white space and the Unicode spaces and line breaks.
const WHITESPACE = [' ', '\t', '\n', '\v', '\f', '\r', '\u00a0', '\u1680', '\u2000', '\u2007', '\u200a', '\u2028', '\u2029', '\u202f', '\u205f', '\u3000', '\ufeff'];

/** A string with `bad` inserted somewhere: at the start, the end or inside. */
const withInserted = (base: fc.Arbitrary<string>, bad: readonly string[]) =>
  fc.tuple(base, fc.constantFrom(...bad), fc.nat()).map(([s, b, at]) => {
    const i = at % (s.length + 1);
    return s.slice(0, i) + b + s.slice(i);
  });

const anyString = fc.string({ unit: 'binary', maxLength: 30 });

describe('durations', () => {
  it('parseDuration reads back what formatDuration writes, for every whole millisecond up to 24h', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: MAX_DURATION_MS }), (ms) => {
        const parsed = parseDuration(formatDuration(ms));
        expect(parsed).toEqual({ ok: true, value: ms });
      }),
      { numRuns: RUNS },
    );
  });

  it('round-trips whole seconds, minutes and hours too (the values policies use)', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 24 * 3600 }), (s) => {
        expect(parseDuration(formatDuration(s * 1000))).toEqual({ ok: true, value: s * 1000 });
      }),
      { numRuns: RUNS },
    );
  });
});

describe('refs', () => {
  it('accepts the refs users write', () => {
    fc.assert(
      fc.property(refArb, (ref) => {
        expect(parseRef(ref).ok).toBe(true);
      }),
      { numRuns: 200 },
    );
  });

  it('never accepts a control character', () => {
    fc.assert(
      fc.property(withInserted(fc.oneof(refArb, anyString), CONTROL), (raw) => {
        expect(parseRef(raw).ok, JSON.stringify(raw)).toBe(false);
      }),
      { numRuns: RUNS },
    );
  });

  it('never accepts white space', () => {
    fc.assert(
      fc.property(withInserted(fc.oneof(refArb, anyString), WHITESPACE), (raw) => {
        expect(parseRef(raw).ok, JSON.stringify(raw)).toBe(false);
      }),
      { numRuns: RUNS },
    );
  });

  it("never accepts a leading '-' (git would read it as an option)", () => {
    fc.assert(
      fc.property(fc.oneof(refArb, anyString), (rest) => {
        expect(parseRef(`-${rest}`).ok).toBe(false);
      }),
      { numRuns: RUNS },
    );
  });
});

describe('repositories', () => {
  it('accepts the URLs users write', () => {
    fc.assert(
      fc.property(repoArb, (repo) => {
        expect(parseRepo(repo).ok, repo).toBe(true);
      }),
      { numRuns: 200 },
    );
  });

  it('never accepts a control character', () => {
    fc.assert(
      fc.property(withInserted(fc.oneof(repoArb, anyString), CONTROL), (raw) => {
        expect(parseRepo(raw).ok, JSON.stringify(raw)).toBe(false);
      }),
      { numRuns: RUNS },
    );
  });

  it('never accepts white space', () => {
    fc.assert(
      fc.property(withInserted(fc.oneof(repoArb, anyString), WHITESPACE), (raw) => {
        expect(parseRepo(raw).ok, JSON.stringify(raw)).toBe(false);
      }),
      { numRuns: RUNS },
    );
  });

  it("never accepts a leading '-' (git and ssh would read it as an option)", () => {
    fc.assert(
      fc.property(fc.oneof(repoArb, anyString), (rest) => {
        expect(parseRepo(`-${rest}`).ok).toBe(false);
      }),
      { numRuns: RUNS },
    );
  });

  it('never accepts an https URL that carries a user name or password', () => {
    // Characters a user or token may contain, including ones URLs percent-encode.
    const userPart = fc.string({ unit: fc.constantFrom(...'abcXYZ019-._~!$&\'()*+,;=%é'), minLength: 1, maxLength: 12 });
    const userInfo = fc.oneof(
      userPart,
      fc.tuple(userPart, userPart).map(([u, p]) => `${u}:${p}`),
      userPart.map((p) => `:${p}`),
      userPart.map((u) => `${u}:`),
    );
    fc.assert(
      fc.property(
        fc.constantFrom('https', 'HTTPS', 'Https'),
        userInfo,
        fc.constantFrom('github.com', 'git.example.org:8443', '10.0.0.1', '[::1]'),
        fc.constantFrom('org/repo.git', 'org/repo', 'a/b/c.git', ''),
        (scheme, info, host, path) => {
          const raw = `${scheme}://${info}@${host}/${path}`;
          expect(parseRepo(raw).ok, raw).toBe(false);
        },
      ),
      { numRuns: RUNS },
    );
  });

  it('never returns a URL that differs from what was written (git-sync gets the value users see)', () => {
    fc.assert(
      fc.property(fc.oneof(repoArb, anyString), (raw) => {
        const parsed = parseRepo(raw);
        if (parsed.ok) expect(parsed.value.url).toBe(raw);
      }),
      { numRuns: RUNS },
    );
  });
});

describe('absolute paths', () => {
  const segment = fc.constantFrom('', '.', '..', '...', 'a', 'git', 'opt', 'b.c', '.hidden', 'x-y', 'a b', 'c:d', 'é', '~', '@');
  const pathArb = fc.oneof(
    { weight: 4, arbitrary: fc.array(segment, { maxLength: 6 }).map((parts) => `/${parts.join('/')}`) },
    { weight: 1, arbitrary: anyString },
  );

  it('returns normalised paths: absolute, no //, no /./, no .. and no trailing /', () => {
    fc.assert(
      fc.property(pathArb, (raw) => {
        const parsed = parseAbsolutePath(raw);
        if (!parsed.ok) return;
        const p = parsed.value;
        expect(p.startsWith('/')).toBe(true);
        expect(p).not.toContain('//');
        expect(p.endsWith('/')).toBe(false);
        const segments = p.split('/').slice(1);
        expect(segments).not.toContain('.');
        expect(segments).not.toContain('..');
        expect(segments).not.toContain('');
      }),
      { numRuns: RUNS },
    );
  });

  it('is idempotent: parsing its output gives the output back', () => {
    fc.assert(
      fc.property(pathArb, (raw) => {
        const parsed = parseAbsolutePath(raw);
        if (!parsed.ok) return;
        expect(parseAbsolutePath(parsed.value)).toEqual({ ok: true, value: parsed.value });
      }),
      { numRuns: RUNS },
    );
  });

  it("refuses every path with a '..' segment", () => {
    fc.assert(
      fc.property(fc.array(segment, { maxLength: 4 }), fc.array(segment, { maxLength: 4 }), (before, after) => {
        expect(parseAbsolutePath(`/${[...before, '..', ...after].join('/')}`).ok).toBe(false);
      }),
      { numRuns: RUNS },
    );
  });
});
