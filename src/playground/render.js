// @ts-check
/**
 * The answer of /preview as DOM: one card per object. Every text that came
 * from the server (and so, often, from the manifest) goes in through
 * textContent, never as HTML: a manifest cannot put markup on this page.
 */
import { diffLines, lines } from './diff.js';

/**
 * @typedef {{ code: string, field: string, value?: string, message: string }} Problem
 * @typedef {{ repo: string, ref: string, initContainers: string[], containers: string[], volumes: string[], appContainers: string[], path: string, sparsePaths?: string[], filter?: string }} RepositoryInjection
 * @typedef {RepositoryInjection & { mode: string, repositories?: (RepositoryInjection & { name: string })[] }} Injection
 * @typedef {{
 *   mode?: string, document: number, item?: number, line?: number, apiVersion: string, kind: string, name: string, namespace: string,
 *   outcome: string, skip?: { reason: string, message: string }, note?: string, patch: unknown[], object: unknown,
 *   warnings: Problem[], errors: Problem[], injection?: Injection, yaml?: { input: string, output: string }
 * }} PreviewObject
 * @typedef {{ mode?: string, version: string, policy: string, summary: Record<string, number>, objects: PreviewObject[] }} PreviewResponse
 * @typedef {(problem: Problem | undefined, object: PreviewObject) => void} JumpTo
 */

/**
 * An element with a class and text; children appended after the text.
 * @template {keyof HTMLElementTagNameMap} K
 * @param {K} tag
 * @param {string} [className]
 * @param {string} [text]
 * @param {...Node} children
 * @returns {HTMLElementTagNameMap[K]}
 */
export function el(tag, className, text, ...children) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined) node.textContent = text;
  node.append(...children);
  return node;
}

/** What each outcome's badge says, for people; the outcome's own word stays in data-outcome. */
const BADGES = /** @type {Record<string, string>} */ ({
  injected: 'injected',
  skipped: 'skipped',
  denied: 'denied',
  ignored: 'ignored',
  allowed: 'allowed',
  invalid: 'invalid review',
  error: 'denied (internal error)',
});

/** @param {PreviewObject} o */
const title = (o) => `${o.kind || '(no kind)'} ${o.namespace ? `${o.namespace}/` : ''}${o.name}${o.mode === 'webhook-free' ? ' [webhook-free]' : ''}`;

/**
 * The one line under the title: why it is skipped, ignored or denied.
 * @param {PreviewObject} o
 * @returns {string}
 */
function verdict(o) {
  switch (o.outcome) {
    case 'injected':
      return '';
    case 'skipped':
      return o.skip ? o.skip.message : (o.note ?? '');
    case 'denied':
      return `${o.mode === 'webhook-free' ? 'The exported admission policies refuse' : 'The webhook refuses'} this pod: ${o.errors.length} ${o.errors.length === 1 ? 'error' : 'errors'}.`;
    default:
      return o.note ?? '';
  }
}

/**
 * One repository's rows: where from, how much of it, its containers and
 * volumes, and where the app finds it. `label` names the repository (the main
 * one is just "repository" when it is alone).
 * @param {RepositoryInjection} r
 * @param {string} mode
 * @param {string} label
 * @returns {[string, string][]}
 */
function repositoryRows(r, mode, label) {
  const containers = mode === 'native' ? [['native sidecar', r.initContainers]] : [['init container', r.initContainers], ['sidecar', r.containers]];
  return [
    [label, `${r.repo} @ ${r.ref}`],
    .../** @type {[string, string][]} */ (r.sparsePaths ? [['sparse checkout', r.sparsePaths.join(', ')]] : []),
    .../** @type {[string, string][]} */ (r.filter ? [['filter', r.filter]] : []),
    .../** @type {[string, string[]][]} */ (containers).filter(([, names]) => names.length > 0).map(([term, names]) => /** @type {[string, string]} */ ([term, names.join(', ')])),
    ['volumes', r.volumes.join(', ')],
    ['app containers', r.appContainers.join(', ')],
    ['the app reads', r.path],
  ];
}

/**
 * The summary of an injection: the pod's mode and the main repository in one
 * list, then one list per named repository (a pod with several, such as
 * Airflow's DAGs and plugins), each saying what it adds and where the app reads it.
 * @param {Injection} i
 * @returns {HTMLElement[]}
 */
function summaryLists(i) {
  /** @param {[string, string][]} rows */
  const list = (rows) => {
    const dl = el('dl', 'summary');
    for (const [term, value] of rows) dl.append(el('dt', undefined, term), el('dd', undefined, value));
    return dl;
  };
  const named = i.repositories ?? [];
  const main = list([['mode', i.mode], ...repositoryRows(i, i.mode, named.length > 0 ? 'main repository' : 'repository')]);
  return [
    main,
    ...named.map((r) => {
      const dl = list(repositoryRows(r, i.mode, `repository ${r.name}`));
      dl.classList.add('named');
      dl.dataset.repository = r.name;
      return dl;
    }),
  ];
}

/**
 * @param {Problem} p
 * @param {'error' | 'warning'} kind
 * @param {() => void} onJump
 */
function problemItem(p, kind, onJump) {
  const button = el('button', `problem ${kind}`, undefined, el('span', 'severity', kind), el('code', 'code', p.code), el('code', 'field', p.field), el('span', 'message', p.message));
  button.type = 'button';
  button.title = 'Show this in the manifest';
  button.addEventListener('click', onJump);
  return el('li', undefined, undefined, button);
}

/** Unchanged lines kept around each change; longer unchanged runs fold into one line. */
const CONTEXT = 3;

/**
 * A unified diff of the object's input and output YAML.
 * @param {string} input
 * @param {string} output
 */
export function diffView(input, output) {
  const diff = diffLines(lines(input), lines(output));
  const pre = el('pre', 'diff');
  pre.tabIndex = 0;
  const near = diff.map(() => false);
  diff.forEach((l, i) => {
    if (l.op === 'same') return;
    for (let j = Math.max(0, i - CONTEXT); j <= Math.min(diff.length - 1, i + CONTEXT); j++) near[j] = true;
  });
  for (let i = 0; i < diff.length; ) {
    const l = /** @type {import('./diff.js').DiffLine} */ (diff[i]);
    if (l.op === 'same' && !near[i]) {
      let j = i;
      while (j < diff.length && !near[j]) j++;
      pre.append(el('span', 'fold', `⋯ ${j - i} unchanged ${j - i === 1 ? 'line' : 'lines'}\n`));
      i = j;
      continue;
    }
    const sign = l.op === 'add' ? '+' : l.op === 'del' ? '-' : ' ';
    pre.append(el('span', l.op, `${sign} ${l.text}\n`));
    i++;
  }
  return pre;
}

let tabIds = 0;

/**
 * Tabs (keyboard: Tab to the list, arrows between tabs) over panels built on first view.
 * @param {[string, () => HTMLElement][]} views
 */
function tabs(views) {
  const box = el('div', 'tabs');
  const list = el('div', 'tablist');
  list.setAttribute('role', 'tablist');
  const id = ++tabIds;
  /** @type {HTMLButtonElement[]} */
  const buttons = [];
  /** @type {HTMLElement[]} */
  const panels = [];
  /** @param {number} n */
  const select = (n) => {
    views.forEach(([, build], i) => {
      const on = i === n;
      const button = /** @type {HTMLButtonElement} */ (buttons[i]);
      const panel = /** @type {HTMLElement} */ (panels[i]);
      button.setAttribute('aria-selected', String(on));
      button.tabIndex = on ? 0 : -1;
      panel.hidden = !on;
      if (on && panel.childElementCount === 0) panel.append(build());
    });
  };
  views.forEach(([label], i) => {
    const button = el('button', 'tab', label);
    button.type = 'button';
    button.id = `tab-${id}-${i}`;
    button.setAttribute('role', 'tab');
    button.setAttribute('aria-controls', `panel-${id}-${i}`);
    button.addEventListener('click', () => select(i));
    button.addEventListener('keydown', (e) => {
      const step = e.key === 'ArrowRight' ? 1 : e.key === 'ArrowLeft' ? -1 : 0;
      if (step === 0) return;
      const next = (i + step + views.length) % views.length;
      select(next);
      buttons[next]?.focus();
    });
    const panel = el('div', 'panel');
    panel.id = `panel-${id}-${i}`;
    panel.setAttribute('role', 'tabpanel');
    panel.setAttribute('aria-labelledby', button.id);
    buttons.push(button);
    panels.push(panel);
    list.append(button);
  });
  box.append(list, ...panels);
  select(0);
  return box;
}

/**
 * @param {string} text
 * @param {string} className
 */
function codeBlock(text, className) {
  const pre = el('pre', className, text);
  pre.tabIndex = 0;
  return pre;
}

/**
 * One object's card.
 * @param {PreviewObject} o
 * @param {JumpTo} jump
 * @returns {HTMLElement}
 */
export function objectCard(o, jump) {
  const card = el('article', `object outcome-${o.outcome}`);
  card.dataset.outcome = o.outcome;
  const badge = el('span', `badge ${o.outcome}`, BADGES[o.outcome] ?? o.outcome);
  const head = el('header', undefined, undefined, badge);
  if (o.skip) head.append(el('span', 'reason', o.skip.reason));
  head.append(el('h3', undefined, title(o)));
  if (o.line !== undefined) {
    const where = el('button', 'where', `line ${o.line}`);
    where.type = 'button';
    where.title = 'Show this object in the manifest';
    where.addEventListener('click', () => jump(undefined, o));
    head.append(where);
  }
  card.append(head);
  const said = verdict(o);
  if (said) card.append(el('p', 'verdict', said));
  if (o.injection) card.append(...summaryLists(o.injection));
  const problems = [...o.errors.map((p) => /** @type {const} */ ([p, 'error'])), ...o.warnings.map((p) => /** @type {const} */ ([p, 'warning']))];
  if (problems.length > 0) {
    const list = el('ul', 'problems');
    list.setAttribute('aria-label', 'Errors and warnings');
    for (const [p, kind] of problems) list.append(problemItem(p, kind, () => jump(p, o)));
    card.append(list);
  }
  /** @type {[string, () => HTMLElement][]} */
  const views = [];
  const yaml = o.yaml;
  if (yaml && o.patch.length > 0) {
    views.push(['Diff', () => diffView(yaml.input, yaml.output)]);
    views.push(['Injected manifest', () => codeBlock(yaml.output, 'manifest')]);
    views.push(['JSON patch', () => codeBlock(JSON.stringify(o.patch, null, 2), 'patch')]);
  }
  if (views.length > 0) card.append(tabs(views));
  return card;
}

/**
 * The line above the cards: how many objects, and each outcome's count.
 * @param {PreviewResponse} r
 * @returns {string}
 */
export function totals(r) {
  const counts = Object.entries(r.summary)
    .filter(([k, n]) => k !== 'objects' && n > 0)
    .map(([k, n]) => `${n} ${k}`);
  const objects = `${r.summary.objects} ${r.summary.objects === 1 ? 'object' : 'objects'}`;
  return `${objects}${counts.length > 0 ? `: ${counts.join(', ')}` : ''} · policy ${r.policy} · injector ${r.version}`;
}
