/**
 * What every answer of the webhook must be, whatever was sent: checked
 * against the request as the server could read it, never against the
 * server's own logic.
 *
 * - No 5xx, and a JSON body.
 * - A 200 is a well-formed AdmissionReview carrying the request's uid.
 * - A 400 is either such a review refusing the request (with the uid when
 *   the body had one) or the `{error: {code, reason, message}}` body, whose
 *   reason is in the catalogue of HTTP errors with the status it came with.
 * - A patch only adds, applies to the pod that was sent, and yields a valid
 *   pod (one with no problem the sent pod did not already have) whose
 *   git-sync containers take nothing from the pod author but
 *   parsed values in a fixed set of variables: no command, no args, no
 *   other variable, no line break, no value that starts like a flag.
 */
import { expect } from 'vitest';
import fastJsonPatch, { type Operation } from 'fast-json-patch';
import { HTTP_ERRORS } from '../../src/server/index.ts';
import { MAX_NESTING } from '../../src/admission/index.ts';
import { GIT_SYNC_ENV, LINE_BREAKING, podInvariantProblems } from '../support/invariants.ts';
import type { Response } from '../support/server.ts';


// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u001f\u007f]/;

type Json = Record<string, unknown>;
const isObject = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);

/** What the server could read of the request: the body as JSON.parse sees it, when it parses. */
export interface Sent {
  /** The parsed body; undefined when the body is not JSON at all. */
  body?: unknown;
}

/** The body as the server reads it: UTF-8 (invalid sequences become U+FFFD), a leading BOM dropped, then JSON.parse. Each call parses afresh. */
export function sentBytes(bytes: string | Buffer): Sent {
  const text = typeof bytes === 'string' ? bytes : bytes.toString('utf8');
  try {
    return { body: JSON.parse(text.startsWith('\ufeff') ? text.slice(1) : text) as unknown };
  } catch {
    return {};
  }
}

/** How many arrays and objects deep a value nests, counted without recursion. */
function depthOf(value: unknown): number {
  let max = 0;
  const stack: [unknown, number][] = [[value, 0]];
  while (stack.length > 0) {
    const [node, depth] = stack.pop()!;
    if (typeof node !== 'object' || node === null) continue;
    max = Math.max(max, depth + 1);
    for (const child of Object.values(node)) stack.push([child, depth + 1]);
  }
  return max;
}

export interface PolicyView {
  prefix: string;
  image: string;
}

/** The request's uid as the server must echo it: a non-empty string under request.uid, else none. */
export function uidOf(body: unknown): string | undefined {
  if (!isObject(body) || !isObject(body.request)) return undefined;
  const uid = body.request.uid;
  return typeof uid === 'string' && uid !== '' ? uid : undefined;
}

/** The error body, with a catalogued reason sent with its catalogued status. */
function expectErrorBody(json: unknown, status: number): void {
  expect(json).toEqual({ error: { code: status, reason: expect.any(String), message: expect.any(String) } });
  const { reason } = (json as { error: { reason: string } }).error;
  expect(Object.hasOwn(HTTP_ERRORS, reason), `${reason} is not in the catalogue of HTTP errors`).toBe(true);
  expect(HTTP_ERRORS[reason as keyof typeof HTTP_ERRORS].status, reason).toBe(status);
}

/**
 * Checks one answer; returns the decoded patch when the webhook sent one
 * (already checked to apply and to give a valid pod), else undefined.
 */
export function expectWellFormedAnswer(res: Response, sent: Sent, policy: PolicyView): Operation[] | undefined {
  expect(res.status, res.text.slice(0, 500)).toBeGreaterThanOrEqual(200);
  expect(res.status, res.text.slice(0, 500)).toBeLessThan(500);
  expect(res.headers['content-type']).toMatch(/^application\/json/);
  const json: unknown = res.json();
  const uid = uidOf(sent.body);

  if (res.status !== 200 && res.status !== 400) {
    expectErrorBody(json, res.status);
    return undefined;
  }
  if (res.status === 400 && isObject(json) && 'error' in json) {
    expectErrorBody(json, 400);
    // A body the server could read gets a review back; only unreadable ones get an error body.
    const { reason } = (json as { error: { reason: string } }).error;
    if (reason === 'FORBIDDEN_JSON_KEY') expect(JSON.stringify(sent.body)).toMatch(/__proto__|constructor/);
    // Refused before parsing, for nesting deeper than any Kubernetes object.
    else if (reason === 'TOO_DEEP' && sent.body !== undefined) expect(depthOf(sent.body)).toBeGreaterThan(MAX_NESTING);
    else expect(sent.body, `${reason} for a body that parses: ${res.text.slice(0, 300)}`).toBeUndefined();
    return undefined;
  }

  expect(json).toMatchObject({ apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview' });
  const response = (json as { response: Json }).response;
  expect(isObject(response)).toBe(true);
  expect(response.uid).toBe(uid ?? '');
  expect(typeof response.allowed).toBe('boolean');
  if (res.status === 400) expect(response.allowed).toBe(false);
  if (response.allowed === false) {
    expect(response.status).toEqual({ code: expect.any(Number), message: expect.any(String) });
    // 500 inside a review is the engine failing on this input: a crash in all but name.
    expect((response.status as { code: number }).code, (response.status as { message: string }).message).toBeLessThan(500);
    expect(response.patch).toBeUndefined();
  }
  if (response.warnings !== undefined) {
    expect(Array.isArray(response.warnings)).toBe(true);
    for (const w of response.warnings as unknown[]) {
      expect(typeof w).toBe('string');
      // Warnings become HTTP headers at the API server: no control characters, no runaway length.
      expect(w as string).not.toMatch(CONTROL);
      expect((w as string).length).toBeLessThanOrEqual(256);
    }
  }
  if (response.patch === undefined) return undefined;

  expect(response.patchType).toBe('JSONPatch');
  const ops = JSON.parse(Buffer.from(response.patch as string, 'base64').toString('utf8')) as Operation[];
  expect(Array.isArray(ops)).toBe(true);
  for (const op of ops) expect(op.op).toBe('add');
  const pod = (sent.body as { request: { object: unknown } }).request.object;
  // A valid pod stays valid; a pod that was already invalid (the API server will refuse it) gets no new problem.
  const before = new Set(podInvariantProblems(pod));
  // Patched in place, with validation: `sent` is this exchange's own parse, and a copy could
  // not be made of a pod nested deeper than the stack allows (the server is sent such pods).
  const patched = fastJsonPatch.applyPatch(pod, ops, true, true).newDocument;
  expect(podInvariantProblems(patched).filter((p) => !before.has(p))).toEqual([]);
  expectGitSyncTakesNothingFromTheAuthor(patched, policy);
  return ops;
}

interface Container {
  name: string;
  image?: unknown;
  command?: unknown;
  args?: unknown;
  env?: { name: string; value?: unknown }[];
}

/** The git-sync containers of an injected pod, found through the status annotation the injection wrote. */
function gitSyncContainers(pod: Json, prefix: string): Container[] {
  const annotations = (pod.metadata as { annotations: Record<string, string> }).annotations;
  const status = JSON.parse(annotations[`${prefix}status`]!) as { initContainers: string[]; containers: string[] };
  const names = new Set([...status.initContainers, ...status.containers]);
  const spec = pod.spec as { containers: Container[]; initContainers?: Container[] | null };
  const found = [...spec.containers, ...(spec.initContainers ?? [])].filter((c) => names.has(c.name));
  expect(found.map((c) => c.name).sort()).toEqual([...names].sort());
  return found;
}

export function expectGitSyncTakesNothingFromTheAuthor(patched: unknown, policy: PolicyView): void {
  const containers = gitSyncContainers(patched as Json, policy.prefix);
  expect(containers.length).toBeGreaterThan(0);
  for (const c of containers) {
    expect(c.image).toBe(policy.image);
    expect(c.command).toBeUndefined();
    expect(c.args).toBeUndefined();
    for (const e of c.env ?? []) {
      expect(GIT_SYNC_ENV, `${c.name} gets ${e.name}`).toContain(e.name);
      if (e.value === undefined) continue;
      expect(typeof e.value).toBe('string');
      expect(e.value as string).not.toMatch(LINE_BREAKING);
    }
    const env = new Map((c.env ?? []).map((e) => [e.name, e.value]));
    for (const name of ['GITSYNC_REPO', 'GITSYNC_REF']) {
      expect(typeof env.get(name)).toBe('string');
      expect((env.get(name) as string).startsWith('-'), `${name}=${String(env.get(name))}`).toBe(false);
    }
  }
}
