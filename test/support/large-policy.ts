/**
 * Policies at and over the size limits (src/policy/schema.ts): every list and
 * `presets` at its most entries, and the text padded to the byte limit, as a
 * large real policy would be (RSA host keys, one preset per team, one
 * repository pattern per organisation). Used to show that reading one never
 * holds admissions up, and that one over a limit is refused by name.
 */
import { randomBytes } from 'node:crypto';
import { MAX_POLICY_BYTES, MAX_POLICY_ENTRIES } from '../../src/policy/schema.ts';

const u32 = (n: number): Buffer => {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(n);
  return b;
};
const sshString = (b: Buffer): Buffer => Buffer.concat([u32(b.length), b]);

/** An ssh-rsa public key blob of 4096 bits, as ssh-keyscan prints it: what makes a known_hosts line long. */
function rsaKey(): string {
  const modulus = Buffer.concat([Buffer.from([0]), randomBytes(512)]);
  modulus[1]! |= 0x80;
  return Buffer.concat([sshString(Buffer.from('ssh-rsa')), sshString(Buffer.from([1, 0, 1])), sshString(modulus)]).toString('base64');
}

export interface LargePolicyOptions {
  /** Entries of each list and of presets (default: the limit). */
  entries?: number;
  /** Pad the text with a comment to this many bytes (default: the limit). */
  bytes?: number;
  /** The default period, to tell two such policies apart. */
  period?: string;
}

/** A valid policy with `entries` of everything, padded to `bytes`. */
export function largePolicy(options: LargePolicyOptions = {}): string {
  const { entries = MAX_POLICY_ENTRIES, bytes = MAX_POLICY_BYTES, period = '45s' } = options;
  const key = rsaKey();
  const lines = ['defaults:', `  period: ${period}`, 'allowedRepos:', '  - github.com/acme/*'];
  for (let i = 1; i < entries; i++) lines.push(`  - git.example.com/org-${i}/**`);
  lines.push('excludedNamespaces:');
  for (let i = 0; i < entries; i++) lines.push(`  - batch-${i}`);
  lines.push('presets:');
  for (let i = 0; i < entries; i++) {
    lines.push(`  team-${i}:`, '    period: 1m', '    ref: main', '    depth: "1"', '    mount-path: /opt/dags', `    sub-path: teams/team-${i}/dags`, `    env: TEAM_${i}_DAGS`);
  }
  lines.push('knownHosts:');
  for (let i = 0; i < entries; i++) lines.push(`  - git-${i}.example.com ssh-rsa ${key}`);
  const text = `${lines.join('\n')}\n`;
  const room = bytes - Buffer.byteLength(text) - 2;
  if (room < 0) throw new Error(`the policy has ${-room} bytes more than ${bytes} before padding`);
  return `${text}#${'-'.repeat(room)}\n`;
}
