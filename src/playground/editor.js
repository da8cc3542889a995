// @ts-check
/**
 * A textarea with line numbers, and a way to put the caret on a line (a
 * problem's "jump to the annotation"). Plain textarea: every browser's
 * editing, undo and accessibility come with it.
 */

export class Editor {
  /**
   * @param {HTMLTextAreaElement} textarea
   * @param {HTMLElement} gutter
   */
  constructor(textarea, gutter) {
    this.textarea = textarea;
    this.gutter = gutter;
    this.count = 0;
    textarea.addEventListener('input', () => this.renumber());
    textarea.addEventListener('scroll', () => {
      gutter.scrollTop = textarea.scrollTop;
    });
    this.renumber();
  }

  get value() {
    return this.textarea.value;
  }

  /** @param {string} text */
  set value(text) {
    this.textarea.value = text;
    this.renumber();
  }

  renumber() {
    const count = this.textarea.value.split('\n').length;
    if (count === this.count) return;
    this.count = count;
    this.gutter.textContent = Array.from({ length: count }, (_, i) => String(i + 1)).join('\n');
    this.gutter.scrollTop = this.textarea.scrollTop;
  }

  /**
   * Selects line `line` (1-based) from `column`, scrolls it into view and focuses the editor.
   * @param {number} line
   * @param {number} [column]
   */
  jump(line, column = 1) {
    const text = this.textarea.value;
    let start = 0;
    for (let i = 1; i < line; i++) {
      const next = text.indexOf('\n', start);
      if (next < 0) break;
      start = next + 1;
    }
    const end = text.indexOf('\n', start);
    const lineEnd = end < 0 ? text.length : end;
    this.textarea.focus();
    this.textarea.setSelectionRange(Math.min(start + column - 1, lineEnd), lineEnd);
    const height = parseFloat(getComputedStyle(this.textarea).lineHeight) || 18;
    this.textarea.scrollTop = Math.max(0, (line - 1) * height - this.textarea.clientHeight / 3);
    this.gutter.scrollTop = this.textarea.scrollTop;
  }
}

/**
 * The line of an annotation (or any key) in an object's text: the first line from `from` on,
 * before the next document, that sets that key. Undefined when the text does not name it.
 * @param {string} text
 * @param {string} key such as gitsync.dev/period
 * @param {number} from 1-based line where the object starts
 * @returns {number | undefined}
 */
export function lineOfKey(text, key, from = 1) {
  const all = text.split('\n');
  const escaped = key.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
  const pattern = new RegExp(`^\\s*(?:- )?(?:["']?)${escaped}["']?\\s*:`);
  for (let i = Math.max(0, from - 1); i < all.length; i++) {
    const line = /** @type {string} */ (all[i]);
    if (i > from - 1 && /^---(?:\s|$)/.test(line)) return undefined;
    if (pattern.test(line)) return i + 1;
  }
  return undefined;
}

/**
 * The line a problem's field is on: an annotation key (gitsync.dev/period) as it is, else a
 * field path (spec.jobTemplate.metadata.annotations) one key after another. Undefined when not found.
 * @param {string} text
 * @param {string} field
 * @param {number} from 1-based line where the object starts
 * @returns {number | undefined}
 */
export function lineOfField(text, field, from = 1) {
  const whole = lineOfKey(text, field, from);
  if (whole !== undefined || !field.includes('.')) return whole;
  /** @type {number | undefined} */
  let line = from;
  for (const key of field.split('.')) {
    line = lineOfKey(text, key.replace(/\[\d+\]$/, ''), line);
    if (line === undefined) return undefined;
  }
  return line;
}
