// @ts-check
/**
 * Where a problem is in the manifests' text: the line of the annotation or
 * field it names, found from the line where its object starts. No DOM here,
 * so the unit tests run it in Node.
 */

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
