/**
 * Duplicate keys in YAML, found in linear time. The yaml library's own
 * check (`uniqueKeys`) compares every new key with every key before it in
 * its mapping: a mapping of 20,000 keys costs 200 million comparisons, which
 * held a policy reload for seconds and a preview body for minutes. Both
 * parse with that check off and call this one, which keeps a set per
 * mapping. Merge keys (`<<`) may repeat, as the library allows.
 */
import { isMap, isScalar, isSeq, type Node } from 'yaml';

/** What the library says about a duplicate key, kept so that messages read the same. */
export const DUPLICATE_KEY_MESSAGE = 'Map keys must be unique';

/** The first key, in a walk of the tree, that repeats a key before it in the same mapping. */
export function duplicateKey(root: unknown): Node | undefined {
  const stack: unknown[] = [root];
  while (stack.length > 0) {
    const node = stack.pop();
    if (isMap(node)) {
      const seen = new Set<unknown>();
      for (const pair of node.items) {
        if (isScalar(pair.key) && pair.key.value !== '<<') {
          if (seen.has(pair.key.value)) return pair.key;
          seen.add(pair.key.value);
        }
        stack.push(pair.value);
      }
    } else if (isSeq(node)) {
      stack.push(...node.items);
    }
  }
  return undefined;
}
