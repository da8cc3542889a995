// @ts-check
/**
 * The playground's wiring: editors, examples, files, the link, and the call
 * to /preview, the only request that carries what the user typed.
 */
import { Editor } from './editor.js';
import { lineOfField } from './find.js';
import { el, objectCard, totals } from './render.js';
import { decodeState, encodeState } from './state.js';

/** @typedef {import('./render.js').PreviewResponse} PreviewResponse */
/** @typedef {import('./render.js').PreviewObject} PreviewObject */
/** @typedef {import('./render.js').Problem} Problem */
/** @typedef {{ id: string, title: string, manifests: string, policy?: string }} Example */
/** @typedef {{ code: number, reason: string, message: string, line?: number, column?: number, problems?: { field: string, message: string, code?: string, line?: number, column?: number }[] }} ErrorAnswer */

/**
 * @template {HTMLElement} T
 * @param {string} id
 * @returns {T}
 */
const byId = (id) => /** @type {T} */ (document.getElementById(id));

const manifests = new Editor(byId('manifests'), /** @type {HTMLElement} */ (byId('manifests-editor').querySelector('.gutter')));
const policy = new Editor(byId('policy'), /** @type {HTMLElement} */ (byId('policy-editor').querySelector('.gutter')));
/** @type {HTMLSelectElement} */
const exampleSelect = byId('example');
/** @type {HTMLInputElement} */
const fileInput = byId('file');
/** @type {HTMLDetailsElement} */
const policyBox = byId('policy-box');
const policyLabel = byId('policy-label');
const policyProblems = byId('policy-problems');
const status = byId('status');
const results = byId('results');
/** @type {HTMLInputElement} */
const webhookFree = byId('webhook-free');

/** Waits this long after the last keystroke before asking /preview. */
const DEBOUNCE_MS = 350;

/** @type {AbortController | undefined} */
let inFlight;
/** @type {ReturnType<typeof setTimeout> | undefined} */
let timer;
/** Counts previews, so a test (or a person) can tell a fresh answer from the last one. */
let previews = 0;

/**
 * @param {string} text
 * @param {'ok' | 'error' | 'busy'} [kind]
 * @param {...Node} extra
 */
function say(text, kind = 'ok', ...extra) {
  status.className = kind;
  status.replaceChildren(text, ...extra);
}

/**
 * A button that puts the caret on a line of an editor.
 * @param {string} label
 * @param {Editor} editor
 * @param {number} line
 * @param {number} [column]
 */
function jumpButton(label, editor, line, column) {
  const b = el('button', 'jump', label);
  b.type = 'button';
  b.addEventListener('click', () => {
    if (editor === policy) policyBox.open = true;
    editor.jump(line, column);
  });
  return b;
}

/**
 * Where a problem is: the line of its annotation in the object's text, else the object's first line.
 * @param {Problem | undefined} p
 * @param {PreviewObject} o
 */
function jumpTo(p, o) {
  const from = o.line ?? 1;
  const line = (p && lineOfField(manifests.value, p.field, from)) ?? from;
  manifests.jump(line);
}

/** Shows the state in the address bar (without a new history entry), so the link is always the page as it is. */
async function keepInUrl() {
  const hash = await encodeState({ manifests: manifests.value, policy: policy.value });
  if (location.hash !== hash) history.replaceState(null, '', hash);
}

/** @param {ErrorAnswer} error */
function showError(error) {
  results.replaceChildren();
  if (error.reason === 'INVALID_POLICY' && error.problems) {
    policyBox.open = true;
    say(`The policy has ${error.problems.length === 1 ? 'a problem' : `${error.problems.length} problems`}; the manifests are previewed once it has none.`, 'error');
    for (const p of error.problems) {
      const text = `${p.field ? `${p.field}: ` : ''}${p.message}`;
      const item = el('li', 'problem error');
      if (p.line !== undefined) item.append(jumpButton(`line ${p.line}`, policy, p.line, p.column));
      item.append(el('code', 'code', p.code ?? ''), el('span', 'message', text));
      policyProblems.append(item);
    }
    return;
  }
  const where = error.line !== undefined ? [jumpButton(`line ${error.line}, column ${error.column ?? 1}`, manifests, error.line, error.column)] : [];
  say(`${error.reason}: ${error.message} `, 'error', ...where);
}

/** Asks /preview for the manifests (and the policy, if one is written) and shows the answer. */
async function preview() {
  clearTimeout(timer);
  inFlight?.abort();
  policyProblems.replaceChildren();
  policyLabel.textContent = policy.value.trim() === '' ? "the server's (empty below)" : 'the one below, for this preview only';
  void keepInUrl();
  if (manifests.value.trim() === '') {
    results.replaceChildren();
    say('Paste a manifest, drop a file, or choose an example.');
    return;
  }
  const controller = new AbortController();
  inFlight = controller;
  say('Previewing…', 'busy');
  const request = { apiVersion: 'gitsync.dev/v1', kind: 'PreviewRequest', manifests: manifests.value, yaml: true };
  if (policy.value.trim() !== '') Object.assign(request, { policy: policy.value });
  if (webhookFree.checked) Object.assign(request, { webhookFree: true });
  try {
    const res = await fetch('/preview', {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'application/json' },
      body: JSON.stringify(request),
      signal: controller.signal,
      credentials: 'omit',
    });
    const answer = await res.json();
    if (controller !== inFlight) return;
    previews++;
    results.dataset.previews = String(previews);
    if (!res.ok) {
      showError(/** @type {{ error: ErrorAnswer }} */ (answer).error);
      return;
    }
    const response = /** @type {PreviewResponse} */ (answer);
    say(totals(response));
    results.replaceChildren(...response.objects.map((o) => objectCard(o, jumpTo)));
  } catch (error) {
    if (controller.signal.aborted) return;
    say(`The server did not answer: ${error instanceof Error ? error.message : String(error)}`, 'error');
  }
}

function later() {
  clearTimeout(timer);
  timer = setTimeout(() => void preview(), DEBOUNCE_MS);
}

/** @type {Example[]} */
let examples = [];

/** @param {string} name */
async function exampleFile(name) {
  const res = await fetch(`/playground/examples/${encodeURIComponent(name)}`);
  if (!res.ok) throw new Error(`example ${name}: ${res.status}`);
  return res.text();
}

/** @param {string} id */
async function loadExample(id) {
  const example = examples.find((e) => e.id === id);
  if (!example) return;
  const [text, policyText] = await Promise.all([exampleFile(example.manifests), example.policy ? exampleFile(example.policy) : Promise.resolve('')]);
  manifests.value = text;
  policy.value = policyText;
  policyBox.open = policyText !== '';
  await preview();
}

/** @param {File} file */
async function loadFile(file) {
  manifests.value = await file.text();
  exampleSelect.value = '';
  await preview();
}

manifests.textarea.addEventListener('input', later);
policy.textarea.addEventListener('input', later);
webhookFree.addEventListener('change', () => void preview());
exampleSelect.addEventListener('change', () => void loadExample(exampleSelect.value));
byId('open-file').addEventListener('click', () => fileInput.click());
fileInput.addEventListener('change', () => {
  const file = fileInput.files?.[0];
  if (file) void loadFile(file);
  fileInput.value = '';
});
const dropZone = byId('manifests-editor');
dropZone.addEventListener('dragover', (e) => {
  e.preventDefault();
  dropZone.classList.add('dropping');
});
dropZone.addEventListener('dragleave', () => dropZone.classList.remove('dropping'));
dropZone.addEventListener('drop', (e) => {
  e.preventDefault();
  dropZone.classList.remove('dropping');
  const file = e.dataTransfer?.files[0];
  if (file) void loadFile(file);
});
byId('share').addEventListener('click', async () => {
  await keepInUrl();
  try {
    await navigator.clipboard.writeText(location.href);
    say('Link copied: it holds the manifests and the policy, and opens this page as it is now.');
  } catch {
    say('The link is in the address bar: it holds the manifests and the policy.');
  }
});
// Ctrl+Enter (⌘+Enter) previews at once, without waiting for the pause.
document.addEventListener('keydown', (e) => {
  if (e.key === 'Enter' && (e.ctrlKey || e.metaKey)) {
    e.preventDefault();
    void preview();
  }
});

async function start() {
  try {
    const res = await fetch('/playground/examples/examples.json');
    examples = /** @type {Example[]} */ (await res.json());
  } catch {
    examples = [];
  }
  for (const e of examples) exampleSelect.append(new Option(e.title, e.id));
  /** @type {import('./state.js').State | undefined} */
  let state;
  try {
    state = await decodeState(location.hash);
  } catch (error) {
    say(`This link cannot be read (${error instanceof Error ? error.message : String(error)}); it may have been cut short.`, 'error');
    return;
  }
  if (state) {
    manifests.value = state.manifests;
    policy.value = state.policy;
    policyBox.open = state.policy !== '';
    await preview();
  } else if (examples[0]) {
    exampleSelect.value = examples[0].id;
    await loadExample(examples[0].id);
  }
  document.body.dataset.ready = 'true';
}

void start();
