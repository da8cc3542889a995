// @ts-check
/**
 * The playground's state (the manifests and the policy) in the URL
 * fragment, so that a link reproduces what its sender saw. The fragment
 * never leaves the browser (it is not part of a request), so a shared link
 * sends nothing anywhere; the page sends the state to /preview only.
 *
 * `#z=` then the JSON of the state, deflated (CompressionStream, built into
 * browsers and Node) and written in base64url: manifests compress five- to
 * tenfold, which keeps links short enough for chat and tickets.
 */

/** @typedef {{ manifests: string, policy: string }} State */

const PREFIX = '#z=';
/** The most a link may unpack to: the preview's own body limit (3 MiB), so a crafted link cannot exhaust the tab's memory. */
export const MAX_STATE_BYTES = 3 * 1024 * 1024;

/**
 * @param {Uint8Array} bytes
 * @returns {string}
 */
function toBase64url(bytes) {
  let binary = '';
  for (let i = 0; i < bytes.length; i += 0x8000) binary += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  return btoa(binary).replaceAll('+', '-').replaceAll('/', '_').replace(/=+$/, '');
}

/**
 * @param {string} text
 * @returns {Uint8Array}
 */
function fromBase64url(text) {
  const binary = atob(text.replaceAll('-', '+').replaceAll('_', '/'));
  const bytes = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
  return bytes;
}

/**
 * Reads a stream whole, refusing more than `max` bytes.
 * @param {ReadableStream<Uint8Array>} stream
 * @param {number} max
 * @returns {Promise<Uint8Array>}
 */
async function readAll(stream, max) {
  const reader = stream.getReader();
  /** @type {Uint8Array[]} */
  const chunks = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.length;
    if (size > max) {
      await reader.cancel();
      throw new Error(`the link unpacks to more than ${max} bytes`);
    }
    chunks.push(value);
  }
  const out = new Uint8Array(size);
  let at = 0;
  for (const chunk of chunks) {
    out.set(chunk, at);
    at += chunk.length;
  }
  return out;
}

/**
 * @param {Uint8Array} bytes
 * @param {CompressionStream | DecompressionStream} transform
 * @param {number} max
 */
function through(bytes, transform, max) {
  return readAll(new Blob([/** @type {Uint8Array<ArrayBuffer>} */ (bytes)]).stream().pipeThrough(transform), max);
}

/**
 * The fragment for a state, with its '#'.
 * @param {State} state
 * @returns {Promise<string>}
 */
export async function encodeState(state) {
  const json = new TextEncoder().encode(JSON.stringify({ m: state.manifests, p: state.policy }));
  return PREFIX + toBase64url(await through(json, new CompressionStream('deflate-raw'), Infinity));
}

/**
 * The state in a fragment; undefined for a fragment that holds none (empty, or another page's anchor).
 * Throws for one that starts like a state but cannot be read (a link cut short).
 * @param {string} fragment location.hash, with its '#'
 * @returns {Promise<State | undefined>}
 */
export async function decodeState(fragment) {
  if (!fragment.startsWith(PREFIX)) return undefined;
  const packed = fromBase64url(fragment.slice(PREFIX.length));
  const json = await through(packed, new DecompressionStream('deflate-raw'), MAX_STATE_BYTES);
  /** @type {unknown} */
  const value = JSON.parse(new TextDecoder().decode(json));
  if (typeof value !== 'object' || value === null) throw new Error('the link holds no playground state');
  const { m, p } = /** @type {Record<string, unknown>} */ (value);
  return { manifests: typeof m === 'string' ? m : '', policy: typeof p === 'string' ? p : '' };
}
