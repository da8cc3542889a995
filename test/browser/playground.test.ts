/**
 * The playground in a real browser: Debian's Chromium (the `chromium`
 * package; .ci/run installs it), driven by playwright-core, which downloads
 * no browser. The test starts the preview listener on 127.0.0.1, loads every
 * bundled example and checks what a person reads (badges, messages, the
 * diff), follows a shared link, and saves screenshots of the main states in
 * test-output/playground/ for people to look at. Without a Chromium that
 * starts, the file is skipped with one line that says why.
 */
import { existsSync } from 'node:fs';
import { mkdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { startServers, type TestServers } from '../support/server.ts';

/** What the functions run in the page read; this file's types have no DOM. */
type BrowserGlobals = { document: { getElementById(id: string): { dataset: Record<string, string | undefined> } | null } };

const ROOT = join(import.meta.dirname, '..', '..');
const SHOTS = join(ROOT, 'test-output', 'playground');
const EXAMPLES = join(ROOT, 'src', 'playground', 'examples');

/** The browser: CHROMIUM_PATH, else Debian's. Root (CI) has no user namespace for the sandbox. */
async function launch(): Promise<{ browser?: Browser; why?: string }> {
  const path = process.env.CHROMIUM_PATH ?? ['/usr/bin/chromium', '/usr/bin/chromium-browser'].find((p) => existsSync(p));
  if (!path) return { why: 'no Chromium (install Debian\'s chromium package, or set CHROMIUM_PATH)' };
  try {
    const args = process.getuid?.() === 0 ? ['--no-sandbox'] : [];
    return { browser: await chromium.launch({ executablePath: path, headless: true, args }) };
  } catch (error) {
    return { why: `${path} does not start: ${(error as Error).message.split('\n')[0]}` };
  }
}

const { browser, why } = await launch();

describe.skipIf(!browser)(browser ? 'the playground in Chromium' : `the playground in Chromium: skipped, ${why}`, () => {
  let servers: TestServers;
  let context: BrowserContext;
  let page: Page;
  let base: string;
  const consoleErrors: string[] = [];

  beforeAll(async () => {
    servers = await startServers();
    base = `https://127.0.0.1:${servers.previewPort}`;
    // The test CA is not the browser's; the page is the same over any certificate.
    context = await browser!.newContext({ ignoreHTTPSErrors: true, viewport: { width: 1280, height: 800 } });
    page = await context.newPage();
    // Script errors and CSP refusals; the 400s the tests cause on purpose are the network's, not the page's.
    page.on('console', (m) => {
      if (m.type() === 'error' && !m.text().startsWith('Failed to load resource')) consoleErrors.push(m.text());
    });
    page.on('pageerror', (e) => consoleErrors.push(e.message));
    await mkdir(SHOTS, { recursive: true });
    await page.goto(`${base}/`);
    await page.waitForSelector('body[data-ready="true"]');
  });

  afterAll(async () => {
    await context?.close();
    await browser?.close();
    await servers?.close();
  });

  const shot = (name: string, p: Page = page) => p.screenshot({ path: join(SHOTS, `${name}.png`), fullPage: false });

  /** How many answers the page has shown; the next one is the answer to what was just done. */
  const previews = (p: Page = page) => p.$eval('#results', (r) => Number(r.getAttribute('data-previews') ?? 0));
  async function nextAnswer(action: () => Promise<unknown>, p: Page = page): Promise<void> {
    const before = await previews(p);
    await action();
    // A function, not a string: the page's CSP forbids eval, and a string predicate is eval'ed.
    await p.waitForFunction((n) => Number((globalThis as unknown as BrowserGlobals).document.getElementById('results')?.dataset.previews ?? 0) > n, before);
  }

  const badges = () => page.$$eval('#results .object', (cards) => cards.map((c) => `${c.getAttribute('data-outcome')}: ${c.querySelector('h3')!.textContent}`));
  const text = (selector: string) => page.$eval(selector, (e) => e.textContent ?? '');
  const choose = (id: string) => nextAnswer(() => page.selectOption('#example', id));
  // The page's own code runs in the browser; this file's types have no DOM, so what reads the DOM is written as text.
  /** The 1-based line of the caret in a textarea. */
  const caretLine = (selector: string) =>
    page.evaluate<number>(`(() => { const t = document.querySelector('${selector}'); return t.value.slice(0, t.selectionStart).split('\\n').length; })()`);

  test('the page comes with a Content-Security-Policy that forbids inline script, and every asset is served by the listener', async () => {
    const res = await page.request.get(`${base}/`);
    expect(res.status()).toBe(200);
    const csp = res.headers()['content-security-policy'] ?? '';
    expect(csp).toContain("script-src 'self'");
    expect(csp).not.toContain('unsafe-inline');
    expect(csp).toContain("connect-src 'self'");
    expect(res.headers()['x-content-type-options']).toBe('nosniff');
    const html = await res.text();
    expect(html).not.toMatch(/<script(?![^>]*\bsrc=)[^>]*>/); // no inline script
    expect(html).not.toMatch(/https?:\/\//); // nothing from elsewhere
    expect((await page.request.get(`${base}/playground/../package.json`)).status()).toBe(404);
    // The browser enforces it: the page cannot turn text into code.
    await expect(page.waitForFunction('document.body.dataset.never === "set"', undefined, { timeout: 2000 })).rejects.toThrow(/Content Security Policy/);
    // That refusal is logged; it was this test's doing, not the page's.
    const others = consoleErrors.filter((e) => !e.includes("'unsafe-eval'"));
    consoleErrors.splice(0, consoleErrors.length, ...others);
  });

  test('the first example, shown at start: the Airflow scheduler, injected, with a summary, a diff, the manifest and the patch', async () => {
    expect(await badges()).toEqual(['injected: Deployment airflow/airflow-scheduler']);
    const summary = await text('#results .summary');
    expect(summary).toContain('modesidecar');
    expect(summary).toContain('the app reads/opt/airflow/dags/repo/dags');
    expect(summary).toContain('sidecargit-sync');
    expect(summary).toContain('repositoryhttps://github.com/acme/airflow-dags.git @ main');
    expect(await page.$$('#results .summary')).toHaveLength(1); // one repository, one list
    expect(await text('#status')).toMatch(/^1 object: 1 injected · policy [0-9a-f]{12} · injector /);
    const diff = await text('#results .diff');
    expect(diff).toContain('+ ');
    expect(diff).toMatch(/^\+ +- name: git-sync$/m);
    expect(diff).toMatch(/^\+ +gitsync\.dev\/status: /m);
    expect(diff).not.toMatch(/^- /m); // an injection only adds
    await shot('01-airflow-scheduler-diff');
    await page.click('#results .tab:text("Injected manifest")');
    expect(await text('#results .manifest')).toMatch(/^kind: Deployment$/m);
    await page.keyboard.press('ArrowRight');
    expect(await page.$eval('#results .tab[aria-selected="true"]', (t) => t.textContent)).toBe('JSON patch');
    const patch = JSON.parse(await text('#results .patch')) as { op: string; path: string }[];
    expect(patch.every((op) => op.op === 'add')).toBe(true);
    expect(patch.some((op) => op.path.startsWith('/spec/template/spec/'))).toBe(true);
    await shot('02-airflow-scheduler-patch');
  });

  /** Each summary list of the results, as term → value. */
  const summaries = () =>
    page.$$eval('#results .summary', (lists) =>
      lists.map((dl) => ({ repository: dl.getAttribute('data-repository'), rows: [...dl.querySelectorAll('dt')].map((dt) => [dt.textContent, dt.nextElementSibling?.textContent]) })),
    );

  test('Airflow with DAGs and plugins: one summary per repository, each with its repository, ref, containers and the folder the app reads', async () => {
    await choose('airflow-dags-plugins');
    expect(await badges()).toEqual(['injected: Deployment airflow/airflow-scheduler']);
    expect(await summaries()).toEqual([
      {
        repository: null,
        rows: [
          ['mode', 'sidecar'],
          ['main repository', 'https://github.com/acme/airflow-dags.git @ main'],
          ['init container', 'git-sync-init'],
          ['sidecar', 'git-sync'],
          ['volumes', 'git-sync-root, git-sync-tmp, git-sync-secret'],
          ['app containers', 'scheduler'],
          ['the app reads', '/opt/airflow/dags/repo/dags'],
        ],
      },
      {
        repository: 'plugins',
        rows: [
          ['repository plugins', 'git@github.com:acme/airflow-plugins.git @ v1.4.0'],
          ['init container', 'git-sync-init-plugins'],
          ['sidecar', 'git-sync-plugins'],
          ['volumes', 'git-sync-root-plugins, git-sync-tmp-plugins, git-sync-secret-plugins'],
          ['app containers', 'scheduler'],
          ['the app reads', '/opt/airflow/plugins/repo'],
        ],
      },
    ]);
    expect(await text('#results .diff')).toMatch(/^\+ +- name: git-sync-plugins$/m);
    await shot('02b-airflow-dags-plugins');
  });

  test('a Job with two repositories: init-only, and the named one\'s sparse checkout, filter and containers', async () => {
    const job = await readFile(join(ROOT, 'test', 'fixtures', 'manifests', 'several-repositories', 'job-two-repositories.yaml'), 'utf8');
    await nextAnswer(() => page.fill('#manifests', job));
    expect(await badges()).toEqual(['injected: Job reports/nightly-report']);
    const [main, data] = await summaries();
    expect(main!.rows).toContainEqual(['main repository', 'https://github.com/acme/reports.git @ HEAD']);
    expect(main!.rows).toContainEqual(['init container', 'git-sync-init']);
    expect(main!.rows.map(([term]) => term)).not.toContain('sidecar');
    expect(data).toEqual({
      repository: 'data',
      rows: [
        ['repository data', 'https://github.com/acme/reference-data.git @ HEAD'],
        ['sparse checkout', 'calendars, rates'],
        ['filter', 'blob:none'],
        ['init container', 'git-sync-init-data'],
        ['volumes', 'git-sync-root-data, git-sync-tmp-data, git-sync-sparse-checkout-data'],
        ['app containers', 'build'],
        ['the app reads', '/git-data/repo'],
      ],
    });
  });

  test('the KubernetesExecutor task pod: init-only, no sidecar', async () => {
    await choose('kubernetes-executor-task');
    expect(await badges()).toEqual(['injected: Pod airflow/example-dag-task-1-abc123']);
    const summary = await text('#results .summary');
    expect(summary).toContain('modeinit-only');
    expect(summary).not.toContain('sidecar');
    expect(await text('#results .diff')).toMatch(/^\+ +- name: git-sync-init$/m);
    await shot('03-kubernetes-executor-task');
  });

  test('the CronJob: injected in its Job template', async () => {
    await choose('cronjob');
    expect(await badges()).toEqual(['injected: CronJob analytics/dbt-nightly']);
    expect(await text('#results .summary')).toContain('modeinit-only');
  });

  test('SSH under the example platform policy: the host keys come from the policy', async () => {
    await choose('ssh');
    expect(await page.$eval('#policy-box', (d) => d.hasAttribute('open'))).toBe(true);
    expect(await page.inputValue('#policy')).toContain('knownHosts:');
    expect(await badges()).toEqual(['injected: Pod apps/ssh-app']);
    expect(await text('#results .summary')).toContain('git-sync-known-hosts');
    expect(await text('#results .diff')).toContain('github.com ssh-ed25519');
    // The policy sent is the page's, not the server's built-in one.
    const builtin = (await servers.deps.ctx.policy.hash) as string;
    expect(await text('#status')).not.toContain(builtin);
    await shot('04-ssh-policy-host-keys');
  });

  test('the denied pod: each error with its code and annotation, and a click puts the caret on its line', async () => {
    await choose('denied');
    expect(await badges()).toEqual(['denied: Deployment airflow/airflow-triggerer']);
    const problems = await page.$$eval('#results .problem', (items) => items.map((i) => [...i.querySelectorAll('.severity, .code, .field')].map((s) => s.textContent).join(' ')));
    expect(problems).toEqual(['error DURATION_INVALID gitsync.dev/period', 'error VALUE_NOT_ALLOWED gitsync.dev/mode']);
    expect(await text('#results .problem .message')).toContain('"5x" is not a duration');
    await page.click('#results .problem:has-text("gitsync.dev/mode")');
    const caret = { focused: (await page.evaluate('document.activeElement.id')) === 'manifests', line: await caretLine('#manifests') };
    const source = await readFile(join(EXAMPLES, 'denied.yaml'), 'utf8');
    expect(caret).toEqual({ focused: true, line: source.split('\n').findIndex((l) => l.includes('gitsync.dev/mode:')) + 1 });
    expect(await page.$$('#results .tab')).toEqual([]); // nothing injected, so nothing to diff
    await shot('05-denied');
  });

  test('a workload annotated on the wrong level: skipped, with the reason and a warning that points at the annotations', async () => {
    await choose('wrong-level');
    expect(await badges()).toEqual(['skipped: Deployment web/docs', 'skipped: CronJob analytics/report']);
    expect(await page.$$eval('#results .reason', (r) => r.map((e) => e.textContent))).toEqual(['not-opted-in', 'not-opted-in']);
    const warning = await text('#results .object:nth-child(2) .problem.warning');
    expect(warning).toContain('spec.jobTemplate.metadata.annotations');
    expect(warning).toContain('it belongs in spec.jobTemplate.spec.template.metadata.annotations');
    await page.click('#results .object:nth-child(2) .problem.warning');
    const line = await caretLine('#manifests');
    expect((await page.inputValue('#manifests')).split('\n')[line - 1]?.trim()).toBe('annotations:');
    await shot('06-wrong-level');
  });

  test('a policy with problems: each one with its line, and a click goes there', async () => {
    await choose('airflow-scheduler');
    await page.click('#policy-box summary');
    await nextAnswer(() => page.fill('#policy', 'limits:\n  minPeriod: soon\nallowedRepos: github.com/acme/*\n'));
    const problems = await page.$$eval('#policy-problems li', (items) => items.map((i) => i.textContent));
    expect(problems.length).toBeGreaterThan(0);
    expect(problems.join('\n')).toContain('limits.minPeriod');
    expect(problems[0]).toContain('line 2');
    expect(await page.$$('#results .object')).toEqual([]);
    await page.click('#policy-problems li:first-child .jump');
    expect(await caretLine('#policy')).toBe(2);
    await shot('07-policy-problems');
    await nextAnswer(() => page.fill('#policy', ''));
    expect(await badges()).toEqual(['injected: Deployment airflow/airflow-scheduler']);
  });

  test('a manifest that is not YAML: the parser’s line and column, and a button that goes there', async () => {
    await nextAnswer(() => page.fill('#manifests', 'apiVersion: v1\nkind: Pod\nmetadata: {name: x\n'));
    const status = await text('#status');
    expect(status).toMatch(/^INVALID_YAML: line \d+, column \d+: /);
    expect(await page.$$('#status .jump')).toHaveLength(1);
    await shot('08-invalid-yaml');
  });

  test('text from the manifest is shown as text, never as markup', async () => {
    const name = '<img src=x id=injected-img>';
    const pod = { apiVersion: 'v1', kind: 'Pod', metadata: { name, annotations: { 'gitsync.dev/repo': 'https://github.com/acme/site.git', 'gitsync.dev/period': '<b>5x</b>' } }, spec: { containers: [{ name: 'web', image: 'nginx' }] } };
    await nextAnswer(() => page.fill('#manifests', JSON.stringify(pod, null, 2)));
    expect(await text('#results h3')).toBe(`Pod default/${name}`);
    expect(await page.$$('#results img, #results b')).toEqual([]);
    expect(await text('#results .problem .message')).toContain('"<b>5x</b>"');
  });

  test('a shared link opens the same manifests and policy, and the same answer', async () => {
    await choose('ssh');
    const link = page.url();
    expect(link).toMatch(/#z=[A-Za-z0-9_-]+$/);
    const other = await context.newPage();
    try {
      await other.goto(link);
      await other.waitForSelector('body[data-ready="true"]');
      expect(await other.inputValue('#manifests')).toBe(await page.inputValue('#manifests'));
      expect(await other.inputValue('#policy')).toBe(await page.inputValue('#policy'));
      expect(await other.$$eval('#results .object', (cards) => cards.map((c) => c.getAttribute('data-outcome')))).toEqual(['injected']);
      expect(await other.$eval('#status', (s) => s.textContent)).toBe(await text('#status'));
      await shot('09-shared-link', other);
    } finally {
      await other.close();
    }
  });

  test('readable on a narrow screen: one column, nothing wider than the screen', async () => {
    const narrow = await browser!.newContext({ ignoreHTTPSErrors: true, viewport: { width: 390, height: 844 }, deviceScaleFactor: 2 });
    try {
      const p = await narrow.newPage();
      await p.goto(`${base}/`);
      await p.waitForSelector('body[data-ready="true"]');
      await nextAnswer(() => p.selectOption('#example', 'denied'), p);
      expect(await p.evaluate('document.documentElement.scrollWidth <= window.innerWidth')).toBe(true);
      const [input, output] = await p.$$eval('main > section', (s) => s.map((e) => e.getBoundingClientRect().top));
      expect(output!).toBeGreaterThan(input!);
      await p.screenshot({ path: join(SHOTS, '10-narrow-denied.png'), fullPage: true });
    } finally {
      await narrow.close();
    }
  });

  test('keyboard only: Tab reaches the example list, the editor and the results', async () => {
    await page.goto(`${base}/`);
    await page.waitForSelector('body[data-ready="true"]');
    const reached: string[] = [];
    for (let i = 0; i < 12; i++) {
      await page.keyboard.press('Tab');
      reached.push(await page.evaluate<string>('`${document.activeElement.tagName.toLowerCase()}#${document.activeElement.id}.${document.activeElement.className}`'));
    }
    expect(reached).toContain('select#example.');
    expect(reached).toContain('textarea#manifests.');
    expect(reached.some((r) => r.startsWith('button#tab-'))).toBe(true);
  });

  test('the page logged no errors', () => {
    expect(consoleErrors).toEqual([]);
  });
});
