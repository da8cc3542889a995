/**
 * POST /preview: what the webhook would do, without a cluster. It shares the
 * webhook's dependencies (policy, cluster facts, namespace defaults), so its
 * answer is the webhook's. Unlike /mutate, whose only client is the API
 * server, it is meant for people and pipelines: it reads JSON or YAML, sniffs
 * the format when the content type says nothing (curl --data-binary sends
 * application/x-www-form-urlencoded), and answers YAML to those who ask.
 * What costs time in proportion to the body (parsing it, writing YAML) runs
 * in a worker thread, so that admissions never wait behind a preview.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Server } from 'node:https';
import type { FastifyBaseLogger, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { AdmissionDeps } from '../admission/index.ts';
import { InputError, previewDocuments, PreviewWorker, TooManyObjectsError, WorkerBusyError, WorkerLimitError, type InputFormat, type PreviewLimits, type PreviewOptions, type PreviewResponse } from '../preview/index.ts';
import { formatPolicyProblem } from '../policy/index.ts';
import { addYaml, isPreviewRequest, PreviewRequestError, readPreviewRequest, RequestPolicies, RequestPolicyError } from './preview-request.ts';
import { errorBody, HttpError } from './http-errors.ts';
import { isDnsLabel } from '../engine/index.ts';
import { isJsonType, isYamlType, mediaType, prefersYaml } from './negotiate.ts';

/** Types that say nothing about the format: the body is sniffed. */
const GENERIC_TYPES = new Set(['text/plain', 'application/octet-stream', 'application/x-www-form-urlencoded']);

/** The format a content type announces; throws a 415 for types that are neither JSON, YAML nor generic. */
function formatOf(contentType: string | undefined): InputFormat | 'auto' {
  const type = mediaType(contentType);
  if (type === '' || GENERIC_TYPES.has(type)) return 'auto';
  if (isJsonType(type)) return 'json';
  if (isYamlType(type)) return 'yaml';
  throw new HttpError(
    'UNSUPPORTED_MEDIA_TYPE',
    `content type ${JSON.stringify(type.slice(0, 100))} is not supported by /preview; send application/json or application/yaml (text/plain and application/octet-stream are read as either)`,
  );
}

/** The `mode` query parameter: `webhook` (the default) or `webhook-free` (docs/webhook-free.md). */
function webhookFreeParam(query: unknown): boolean {
  const value = (query as Record<string, unknown> | undefined)?.mode;
  if (value === undefined || value === 'webhook') return false;
  if (value === 'webhook-free') return true;
  const shown = typeof value === 'string' ? JSON.stringify(value.slice(0, 100)) : 'not one value';
  throw new HttpError('INVALID_MODE', `the mode parameter is ${shown}; give webhook or webhook-free`);
}

/** The `namespace` query parameter: for objects that do not name one. */
function namespaceParam(query: unknown): string | undefined {
  const value = (query as Record<string, unknown> | undefined)?.namespace;
  if (value === undefined) return undefined;
  if (typeof value !== 'string' || !isDnsLabel(value)) {
    const shown = typeof value === 'string' ? JSON.stringify(value.slice(0, 100)) : 'given more than once';
    throw new HttpError('INVALID_NAMESPACE', `the namespace parameter is ${shown}; give one namespace name (lowercase letters, digits and '-', at most 63)`);
  }
  return value;
}

const EMPTY = 'the body is empty; send a Pod, a workload, a List, several YAML documents or an AdmissionReview, as JSON or YAML';

/** A body that cannot be parsed: 400 with the parser's line and column, in the server's error shape. */
function rejectInput(request: FastifyRequest, reply: FastifyReply, error: InputError): void {
  const body = errorBody(error.reason, `line ${error.line}, column ${error.column}: ${error.detail}`, { line: error.line, column: error.column });
  // The reason only, as for every client mistake: the parser's message may quote the body.
  request.log.warn({ method: request.method, url: request.url.slice(0, 200), statusCode: body.error.code, reason: error.reason }, 'request rejected');
  void reply.code(body.error.code).send(body);
}

/** A PreviewRequest with wrong fields, or whose policy has problems: 400 with every problem (a policy's with its line and column). */
function rejectRequest(request: FastifyRequest, reply: FastifyReply, error: PreviewRequestError | RequestPolicyError): void {
  const body =
    error instanceof RequestPolicyError
      ? errorBody('INVALID_POLICY', `${error.message}: ${error.problems.map((p) => formatPolicyProblem(p, 'policy')).join('; ')}`, { problems: error.problems })
      : errorBody('INVALID_PREVIEW_REQUEST', error.message, { problems: error.problems });
  request.log.warn({ method: request.method, url: request.url.slice(0, 200), statusCode: body.error.code, reason: body.error.reason }, 'request rejected');
  void reply.code(body.error.code).send(body);
}

/** Objects per preview: enough for a whole application's manifests; more go to the offline commands. */
export const MAX_PREVIEW_OBJECTS = 1000;
/** Objects previewed between two turns of the event loop: a few milliseconds of engine time. */
const OBJECTS_PER_TURN = 16;

const turn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

/** The errors of parsing or writing in the worker, as client errors (4xx) with a reason; anything else is the injector's own failure. */
function clientError(error: unknown, reply: FastifyReply): HttpError | undefined {
  if (error instanceof WorkerBusyError) {
    void reply.header('retry-after', '1');
    return new HttpError('BUSY', `too many previews are waiting (${error.message}); retry in a moment`);
  }
  if (error instanceof WorkerLimitError) {
    return new HttpError('BODY_TOO_COMPLEX', `the body is too costly to preview: ${error.message}; send fewer or smaller documents, or run gitsync-injector check offline`);
  }
  if (error instanceof TooManyObjectsError) {
    return new HttpError('TOO_MANY_OBJECTS', `${error.message}; split the input, or run gitsync-injector check or inject offline, which have no limit`);
  }
  return undefined;
}

/**
 * Writes the answer as YAML: the body was read and previewed already, so a
 * limit the worker runs into here is the answer's size, not the body's
 * (YAML text of hundreds of injected objects can take more memory than the
 * worker has), and the client can still have it as JSON.
 */
async function writingAnswer<T>(write: () => Promise<T>): Promise<T> {
  try {
    return await write();
  } catch (error) {
    if (!(error instanceof WorkerLimitError)) throw error;
    throw new HttpError(
      'ANSWER_TOO_LARGE',
      `the answer is too large to write as YAML within a preview's limits (${error.message}); ask for JSON (Accept: application/json), send fewer documents, or run gitsync-injector check or inject offline`,
    );
  }
}

/** The client hung up before its answer: logged, and nothing is sent (there is no one to send it to). */
function abandoned(request: FastifyRequest, reply: FastifyReply): FastifyReply {
  request.log.info({ method: request.method, url: request.url.slice(0, 200), durationMs: Math.round(reply.elapsedTime * 1000) / 1000 }, 'preview abandoned: the client closed the connection, and its work was stopped');
  reply.hijack();
  return reply;
}

export interface PreviewRouteOptions {
  /** Where bodies are read and YAML answers written; by default a worker of this server's own. */
  worker?: PreviewWorker;
  maxObjects?: number;
}

/**
 * Adds POST /preview to the webhook's server, in a scope of its own so that
 * /mutate stays JSON-only. Bodies are parsed and YAML answers written by a
 * worker thread; the engine runs here, with the webhook's deps, a few
 * objects per turn of the event loop, so admissions never wait behind a
 * preview for long.
 */
export function registerPreview(
  app: FastifyInstance<Server, IncomingMessage, ServerResponse, FastifyBaseLogger>,
  deps: AdmissionDeps,
  options: PreviewRouteOptions = {},
): void {
  const worker = options.worker ?? new PreviewWorker();
  const requestPolicies = new RequestPolicies();
  const maxObjects = options.maxObjects ?? MAX_PREVIEW_OBJECTS;
  void app.register(async (scope) => {
    scope.addHook('onClose', async () => {
      if (!options.worker) await worker.close();
    });
    scope.removeAllContentTypeParsers();
    // Every body is read as text (within the server's body limit) and parsed by the route, which knows about YAML.
    scope.addContentTypeParser('*', { parseAs: 'string' }, (request, body, done) => {
      try {
        formatOf(request.headers['content-type']);
        done(null, body);
      } catch (error) {
        done(error as Error);
      }
    });
    scope.post('/preview', async (request, reply) => {
      const format = formatOf(request.headers['content-type']);
      const text = typeof request.body === 'string' ? request.body : '';
      if (text.trim() === '') throw new HttpError('EMPTY_BODY', EMPTY);
      const namespace = namespaceParam(request.query);
      const webhookFree = webhookFreeParam(request.query);
      // One policy for the whole answer, even if a reload replaces deps.ctx while it is worked out.
      let snapshot: AdmissionDeps = { ctx: deps.ctx, namespaceAnnotations: (ns) => deps.namespaceAnnotations(ns) };
      // A client that hangs up gets nothing more done for it: its job leaves the worker's queue,
      // or ends the worker if it runs, and the engine stops at its next pause.
      const left = new AbortController();
      const onClose = (): void => {
        if (!reply.raw.writableFinished) left.abort();
      };
      reply.raw.once('close', onClose);
      const limits: PreviewLimits = { maxObjects, pause: { every: OBJECTS_PER_TURN, wait: () => turn().then(() => left.signal.throwIfAborted()) } };
      try {
        let response: PreviewResponse;
        try {
          let { documents } = await worker.parse('the body', text, format, maxObjects, left.signal);
          let options: PreviewOptions = { ...(namespace !== undefined && { namespace }), ...(webhookFree && { webhookFree }) };
          let yaml = false;
          if (isPreviewRequest(documents)) {
            // A PreviewRequest: its manifests are read as a body is, under its own policy when it has one.
            const ask = readPreviewRequest(documents);
            if (ask.policy !== undefined) snapshot = requestPolicies.depsWith(snapshot, ask.policy);
            documents = (await worker.parse('the manifests', ask.manifests, 'auto', maxObjects, left.signal)).documents;
            options = { ...options, ...(ask.namespace !== undefined && { namespace: ask.namespace }), ...(ask.webhookFree && { webhookFree: true }) };
            yaml = ask.yaml;
          }
          response = await previewDocuments(documents, snapshot, options, limits);
          if (yaml) response = await writingAnswer(() => addYaml(response, documents, worker, left.signal));
        } catch (error) {
          if (left.signal.aborted) return abandoned(request, reply);
          if (error instanceof InputError) {
            rejectInput(request, reply, error);
            return reply;
          }
          if (error instanceof PreviewRequestError || error instanceof RequestPolicyError) {
            rejectRequest(request, reply, error);
            return reply;
          }
          throw clientError(error, reply) ?? error;
        }
        const done = (): void =>
          request.log.info({ ...response.summary, policy: response.policy, durationMs: Math.round(reply.elapsedTime * 1000) / 1000 }, 'preview');
        if (!prefersYaml(request.headers.accept)) {
          done();
          return reply.send(response);
        }
        let yaml: string;
        try {
          yaml = await writingAnswer(() => worker.yaml(response, left.signal));
        } catch (error) {
          if (left.signal.aborted) return abandoned(request, reply);
          throw clientError(error, reply) ?? error;
        }
        done();
        return reply.type('application/yaml; charset=utf-8').send(yaml);
      } finally {
        reply.raw.off('close', onClose);
      }
    });
  });
}
