/**
 * Content negotiation for the endpoints people read (/preview, /policy):
 * JSON, the default representation, or YAML for a client that asks for it.
 * One helper for both, so that one Accept header gets one answer everywhere.
 *
 * The media types that mean YAML are those kubectl, editors and pipelines
 * use; `+yaml` and `+json` structured-syntax suffixes (RFC 6839) count as
 * their base format. The same lists decide what a request body is.
 */

const YAML_TYPES: ReadonlySet<string> = new Set(['application/yaml', 'application/x-yaml', 'text/yaml', 'text/x-yaml']);

/** The media type of a Content-Type or Accept member: lowercase, without parameters. */
export const mediaType = (header: string | undefined): string => (header ?? '').split(';')[0]!.trim().toLowerCase();

/** Whether a media type (as mediaType() gives it) names YAML. */
export const isYamlType = (type: string): boolean => YAML_TYPES.has(type) || type.endsWith('+yaml');

/** Whether a media type (as mediaType() gives it) names JSON. */
export const isJsonType = (type: string): boolean => type === 'application/json' || type.endsWith('+json');

/** How closely a media range matches a representation: a named type beats `application/*`, which beats `*\/*`. */
const NONE = -1;
const ANY = 0;
const SUBTYPES = 1;
const NAMED = 2;

interface Match {
  q: number;
  specificity: number;
}

const NO_MATCH: Match = { q: 0, specificity: NONE };

/** type/subtype as RFC 9110 §5.6.2 tokens. */
const RANGE = /^[a-z0-9!#$%&'*+.^_`|~-]+\/[a-z0-9!#$%&'*+.^_`|~-]+$/;
/** A qvalue; laxer than RFC 9110 §12.4.2 on digits (`.5`, `0.5000`), strict on the range 0–1. */
const QVALUE = /^(?:\d+(?:\.\d*)?|\.\d+)$/;

interface Range {
  type: string;
  q: number;
}

/** The media ranges of an Accept header; members that are not a range, or whose q is not a number from 0 to 1, are left out. */
function acceptRanges(accept: string): Range[] {
  const ranges: Range[] = [];
  for (const member of accept.split(',')) {
    const [type = '', ...params] = member.split(';').map((s) => s.trim().toLowerCase());
    if (!RANGE.test(type)) continue;
    // The first q parameter ends the media type's own parameters (RFC 9110 §12.5.1); those do not matter here.
    const qParam = params.find((p) => /^q\s*=/.test(p));
    const qText = qParam?.slice(qParam.indexOf('=') + 1).trim();
    if (qText !== undefined && !QVALUE.test(qText)) continue;
    const q = qText === undefined ? 1 : Number(qText);
    if (!(q >= 0 && q <= 1)) continue;
    ranges.push({ type, q });
  }
  return ranges;
}

/**
 * The q a client gives a representation: that of the most specific range
 * that matches it (RFC 9110 §12.5.1), so `application/yaml;q=0, *\/*` refuses
 * YAML. Several equally specific ranges (aliases such as text/yaml and
 * application/x-yaml) count for their best q. Both representations are
 * served as application/…, so `text/*` matches neither.
 */
function matchOf(ranges: readonly Range[], named: (type: string) => boolean): Match {
  let best = NO_MATCH;
  for (const { type, q } of ranges) {
    const specificity = named(type) ? NAMED : type === 'application/*' ? SUBTYPES : type === '*/*' ? ANY : NONE;
    if (specificity === NONE) continue;
    if (specificity > best.specificity || (specificity === best.specificity && q > best.q)) best = { q, specificity };
  }
  return best;
}

/**
 * Whether to answer YAML rather than JSON. The rule, in order:
 *
 * 1. YAML only when the client names a YAML type (with q > 0). A wildcard
 *    never selects it: `*\/*` and `application/*` leave the choice to the
 *    server, whose default is JSON. So `application/json;q=0.9, *\/*` stays
 *    JSON, as it always has on both endpoints, although strict RFC 9110
 *    would rank the wildcard first.
 * 2. The higher q wins, each representation's q taken from the most
 *    specific range that matches it.
 * 3. At equal q, the representation named by a more specific range wins:
 *    `application/yaml;q=0.5, *\/*;q=0.5` is YAML, since JSON is matched only
 *    by the wildcard.
 * 4. Still equal (`application/json, application/yaml`): JSON, the default.
 *
 * No acceptable representation at all (`application/json;q=0`) is answered
 * in JSON too, rather than with a 406: both endpoints always have an answer.
 * A missing or unreadable header means JSON.
 */
export function prefersYaml(accept: string | undefined): boolean {
  if (!accept) return false;
  const ranges = acceptRanges(accept);
  const yaml = matchOf(ranges, isYamlType);
  if (yaml.specificity !== NAMED || yaml.q <= 0) return false;
  const json = matchOf(ranges, isJsonType);
  return yaml.q > json.q || (yaml.q === json.q && yaml.specificity > json.specificity);
}
