/**
 * The playground's state in the URL fragment (src/playground/state.js):
 * what a shared link holds comes back as it was, links stay short, and a
 * link cut short or crafted to unpack to gigabytes is refused.
 */
import { deflateRawSync } from 'node:zlib';
import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import { decodeState, encodeState, MAX_STATE_BYTES } from '../../src/playground/state.js';

const fragmentOf = (bytes: Buffer): string => `#z=${bytes.toString('base64url')}`;

describe('the state in the fragment', () => {
  test('any manifests and policy come back exactly, in a fragment made of URL-safe characters', async () => {
    await fc.assert(
      fc.asyncProperty(fc.string({ unit: 'grapheme', maxLength: 300 }), fc.string({ maxLength: 100 }), async (manifests, policy) => {
        const fragment = await encodeState({ manifests, policy });
        expect(fragment).toMatch(/^#z=[A-Za-z0-9_-]*$/);
        expect(await decodeState(fragment)).toEqual({ manifests, policy });
      }),
      { numRuns: 100 },
    );
  });

  test('a manifest is packed several times smaller than it is', async () => {
    const manifest = `apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: airflow-scheduler\n${'  annotations:\n    gitsync.dev/repo: https://github.com/acme/airflow-dags.git\n'.repeat(20)}`;
    const fragment = await encodeState({ manifests: manifest, policy: '' });
    expect(fragment.length * 4).toBeLessThan(manifest.length);
  });

  test('a fragment that is no state (empty, an anchor) holds none', async () => {
    expect(await decodeState('')).toBeUndefined();
    expect(await decodeState('#results')).toBeUndefined();
  });

  test('a link cut short, or holding something else, is refused', async () => {
    const whole = await encodeState({ manifests: 'kind: Pod\n'.repeat(50), policy: '' });
    await expect(decodeState(whole.slice(0, whole.length / 2))).rejects.toThrow();
    await expect(decodeState(fragmentOf(deflateRawSync('[1, 2]')))).resolves.toEqual({ manifests: '', policy: '' });
    await expect(decodeState(fragmentOf(deflateRawSync('null')))).rejects.toThrow('no playground state');
  });

  test('a link that unpacks to more than the preview would take is refused before it is unpacked whole', async () => {
    const bomb = deflateRawSync(Buffer.alloc(MAX_STATE_BYTES * 4, 0x20));
    expect(bomb.length).toBeLessThan(20_000);
    await expect(decodeState(fragmentOf(bomb))).rejects.toThrow(`more than ${MAX_STATE_BYTES} bytes`);
  });
});
