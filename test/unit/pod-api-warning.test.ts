/**
 * The e2e suite's pod client (test/e2e/support/pod-api.ts) prints the API
 * server's Warning headers as kubectl does: the quoted text, unescaped.
 */
import { expect, test } from 'vitest';
import { warningText } from '../e2e/support/pod-api.ts';

test('a Warning header gives its text, with the quoting taken off', () => {
  expect(warningText('299 - "spec.containers[0].env[2]: hides previous definition of \\"GITSYNC_USERNAME\\""')).toBe(
    'spec.containers[0].env[2]: hides previous definition of "GITSYNC_USERNAME"',
  );
  expect(warningText('299 - "a \\\\ b"')).toBe('a \\ b');
  // Not in the RFC's form: shown as it came.
  expect(warningText('something else')).toBe('something else');
});
