// @ts-check
/**
 * A line diff of two texts, for the playground's "input → output" view:
 * Myers' O((N+M)·D) algorithm ("An O(ND) Difference Algorithm and Its
 * Variations", 1986), which finds a shortest edit script. An injection
 * adds tens of lines to a manifest of tens to hundreds, so D is small and
 * the diff is instant; the answer is bounded by the preview's own limits.
 * Equal lines shared at both ends are set aside first, as every diff does.
 */

/** @typedef {{ op: 'same' | 'add' | 'del', text: string, a?: number, b?: number }} DiffLine
 *  `a` and `b`: the 1-based line numbers in the old and new text. */

/**
 * Lines of a text: a final newline does not make an empty last line.
 * @param {string} text
 * @returns {string[]}
 */
export function lines(text) {
  if (text === '') return [];
  const all = text.split(/\r?\n/);
  if (all.at(-1) === '') all.pop();
  return all;
}

/**
 * The lines of `a` and `b`, each marked same, del (only in `a`) or add (only in `b`), in order.
 * @param {string[]} a
 * @param {string[]} b
 * @returns {DiffLine[]}
 */
export function diffLines(a, b) {
  let start = 0;
  while (start < a.length && start < b.length && a[start] === b[start]) start++;
  let endA = a.length;
  let endB = b.length;
  while (endA > start && endB > start && a[endA - 1] === b[endB - 1]) {
    endA--;
    endB--;
  }
  /** @type {DiffLine[]} */
  const out = [];
  for (let i = 0; i < start; i++) out.push({ op: 'same', text: /** @type {string} */ (a[i]), a: i + 1, b: i + 1 });
  for (const [op, i, j] of middle(a.slice(start, endA), b.slice(start, endB))) {
    if (op === 'same') out.push({ op, text: /** @type {string} */ (a[start + i]), a: start + i + 1, b: start + j + 1 });
    else if (op === 'del') out.push({ op, text: /** @type {string} */ (a[start + i]), a: start + i + 1 });
    else out.push({ op, text: /** @type {string} */ (b[start + j]), b: start + j + 1 });
  }
  for (let k = 0; k < a.length - endA; k++) out.push({ op: 'same', text: /** @type {string} */ (a[endA + k]), a: endA + k + 1, b: endB + k + 1 });
  return out;
}

/**
 * Myers' greedy forward search, keeping each round's frontier to walk the path back.
 * @param {string[]} a
 * @param {string[]} b
 * @returns {['same' | 'del' | 'add', number, number][]} operations with their 0-based indexes in a and b
 */
function middle(a, b) {
  const n = a.length;
  const m = b.length;
  const max = n + m;
  const offset = max + 1;
  /** v[k + offset]: the furthest x reached on diagonal k = x − y. */
  const v = new Int32Array(2 * max + 3);
  /** @type {Int32Array[]} */
  const trace = [];
  let found = max === 0;
  for (let d = 0; d <= max && !found; d++) {
    trace.push(v.slice());
    for (let k = -d; k <= d; k += 2) {
      const down = k === -d || (k !== d && /** @type {number} */ (v[k - 1 + offset]) < /** @type {number} */ (v[k + 1 + offset]));
      let x = down ? /** @type {number} */ (v[k + 1 + offset]) : /** @type {number} */ (v[k - 1 + offset]) + 1;
      let y = x - k;
      while (x < n && y < m && a[x] === b[y]) {
        x++;
        y++;
      }
      v[k + offset] = x;
      if (x >= n && y >= m) {
        found = true;
        break;
      }
    }
  }
  // Walk back from (n, m) through the saved frontiers.
  /** @type {['same' | 'del' | 'add', number, number][]} */
  const ops = [];
  let x = n;
  let y = m;
  for (let d = trace.length - 1; d >= 0; d--) {
    const t = /** @type {Int32Array} */ (trace[d]);
    const k = x - y;
    const down = k === -d || (k !== d && /** @type {number} */ (t[k - 1 + offset]) < /** @type {number} */ (t[k + 1 + offset]));
    const prevK = down ? k + 1 : k - 1;
    const prevX = /** @type {number} */ (t[prevK + offset]);
    const prevY = prevX - prevK;
    while (x > prevX && y > prevY) ops.push(['same', --x, --y]);
    if (d > 0) {
      if (down) ops.push(['add', x, --y]);
      else ops.push(['del', --x, y]);
    }
  }
  while (x > 0 && y > 0) ops.push(['same', --x, --y]);
  return ops.reverse();
}

/**
 * The diff as unified-diff text (`+`, `-`, ` ` before each line), as people paste it into a review.
 * @param {DiffLine[]} diff
 * @returns {string}
 */
export function unified(diff) {
  return diff.map((l) => `${l.op === 'add' ? '+' : l.op === 'del' ? '-' : ' '}${l.text}`).join('\n');
}
