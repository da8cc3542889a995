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
