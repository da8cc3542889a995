/**
 * The MutatingAdmissionPolicy's mutation, derived from the engine (probe.ts):
 * one probe per mode and credential variant, decomposed into what all
 * variants share and what each adds, then written as one
 * `ApplyConfiguration` whose discrete choices are CEL conditionals and whose
 * values are the expressions that read the annotations (settings.ts).
 *
 * Containers, init containers and volumes merge as lists keyed by name,
 * volume mounts by mountPath and env by name, so the app containers are
 * named with only the mount and env they get, and new entries come after
 * the pod's own, where the webhook's patch puts them.
 */
import { WRITTEN_ANNOTATIONS, formatDuration, type EngineContext, type Mode } from '../engine/index.ts';
import { celString, concat, cond, eq, lookup, raw, str, type Input, type X } from './cel.ts';
import { append, list, literal, MAP_FIELDS, struct, substituted, type Substitution } from './literal.ts';
import { credentialVariants, partsOf, probe, SENTINELS, type ProbeParts } from './probe.ts';
import type { Values } from './values.ts';

/**
 * A mutation, as CEL and as its TypeScript evaluation (what it adds, as the
 * object evaluate.ts merges into the pod).
 */
export interface Mutation extends X<Record<string, unknown>> {
  patchType: 'ApplyConfiguration' | 'JSONPatch';
}

/**
 * Lists the API server merges by key; every other list in a pod is atomic.
 * An ApplyConfiguration may not set an atomic list, even inside an object it
 * adds ("may not mutate atomic arrays": a container's `capabilities.drop`, a
 * downwardAPI volume's `items`; v1.32), and a JSONPatch value holding a map
 * literal crashes v1.32's handler (resources' `requests`). So the objects
 * are added by ApplyConfiguration without the objects that hold an atomic
 * list, and those holders (which hold no map) by JSONPatch afterwards.
 */
const KEYED_LISTS = new Set(['env', 'volumeMounts', 'ports']);

/** An object holding an atomic list, found at `path` under the object it was taken from. */
interface Holder {
  path: string[];
  value: unknown;
}

const holdsMap = (value: unknown): boolean =>
  value !== null && typeof value === 'object' && Object.entries(value).some(([k, v]) => MAP_FIELDS.has(k) || holdsMap(v));

/** The value without its atomic-list holders, and the holders. */
function withoutHolders(value: unknown, path: string[] = []): { rest: unknown; holders: Holder[] } {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return { rest: value, holders: [] };
  const entries = Object.entries(value as Record<string, unknown>);
  if (entries.some(([k, v]) => Array.isArray(v) && !KEYED_LISTS.has(k))) {
    // A holder travels as a JSONPatch value, where a map (requests, labels…) crashes v1.32's handler.
    if (holdsMap(value)) throw new Error(`the engine writes ${path.join('.')}, an object holding an atomic list and a map; the export cannot add it`);
    return { rest: undefined, holders: [{ path, value }] };
  }
  const rest: Record<string, unknown> = {};
  const holders: Holder[] = [];
  for (const [k, v] of entries) {
    const inner = withoutHolders(v, [...path, k]);
    if (inner.rest !== undefined) rest[k] = inner.rest;
    holders.push(...inner.holders);
  }
  return { rest, holders };
}

/**
 * A literal whose CEL leaves out the atomic-list holders (added by
 * `holderOps`), while its TypeScript evaluation keeps them: what the pod ends with.
 */
function applicable(value: unknown, type: string, subs: readonly Substitution[]): { x: X<unknown>; holders: Holder[] } {
  const { rest, holders } = withoutHolders(value);
  const full = literal(value, type, subs);
  return { x: { cel: literal(rest ?? {}, type, subs).cel, ev: full.ev }, holders };
}

/** The position, as a JSONPatch path segment, of the object named `name` in `spec.<field>` (it exists once the ApplyConfigurations ran). */
const positionOf = (field: string, name: string): string => `string(object.spec.${field}.map(x, x.name).indexOf(${celString(name)}))`;

/** JSONPatch operations that add each holder to the object named `name` in `spec.<field>`. */
function holderOps(field: string, name: string, holders: readonly Holder[], type: string, subs: readonly Substitution[]): string[] {
  const index = positionOf(field, name);
  return holders.map(
    (h) => `JSONPatch{op: 'add', path: '/spec/${field}/' + ${index} + ${celString(`/${h.path.join('/')}`)}, value: ${literal(h.value, `${type}.${h.path.join('.')}`, subs).cel}}`,
  );
}

/**
 * An env entry ApplyConfiguration cannot write: `valueFrom.secretKeyRef` is an
 * atomic struct ("may not mutate atomic arrays, maps or structs", v1.32).
 */
const needsPatch = (entry: unknown): boolean => typeof entry === 'object' && entry !== null && 'valueFrom' in entry;

/** Env entries with a name given twice (the auto layout's ordered optional reads): a keyed merge would fold them into one. */
const repeatsName = (entries: readonly unknown[]): boolean => {
  const names = entries.map((e) => (e as { name: string }).name);
  return new Set(names).size !== names.length;
};

/** A JSONPatch operation that appends one env entry to the container named `name` in `spec.<field>`. */
function envAppendOp(field: string, name: string, entry: unknown, subs: readonly Substitution[]): string {
  return `JSONPatch{op: 'add', path: '/spec/${field}/' + ${positionOf(field, name)} + '/env/-', value: ${literal(entry, `Object.spec.${field}.env`, subs).cel}}`;
}

const sameJson = (a: unknown, b: unknown): boolean => JSON.stringify(a) === JSON.stringify(b);

/** The longest prefix all lists share. */
function commonPrefix<T>(lists: readonly (readonly T[])[]): T[] {
  const first = lists[0] ?? [];
  let n = 0;
  while (n < first.length && lists.every((l) => l.length > n && sameJson(l[n], first[n]))) n++;
  return first.slice(0, n);
}

interface ContainerSlot {
  /** The fields every variant shares, env and volumeMounts taken apart. */
  fields: Record<string, unknown>;
  env: unknown[];
  mounts: unknown[];
}

/** Splits a mode's containers by variant into the shared fields and each variant's extra env and mounts. */
function slots(kind: 'initContainers' | 'containers', byVariant: readonly ProbeParts[]): { shared: ContainerSlot[]; extraEnv: unknown[][][]; extraMounts: unknown[][][] } {
  const count = byVariant[0]![kind].length;
  const shared: ContainerSlot[] = [];
  const extraEnv: unknown[][][] = byVariant.map(() => []);
  const extraMounts: unknown[][][] = byVariant.map(() => []);
  for (let s = 0; s < count; s++) {
    const cs = byVariant.map((p) => p[kind][s]!);
    const strip = (c: Record<string, unknown>): Record<string, unknown> => Object.fromEntries(Object.entries(c).filter(([k]) => k !== 'env' && k !== 'volumeMounts'));
    const fields = strip(cs[0]!);
    if (!cs.every((c) => sameJson(strip(c), fields))) throw new Error(`the engine's ${kind}[${s}] differs between credential variants beyond env and mounts; the export cannot derive it`);
    const env = commonPrefix(cs.map((c) => (c.env as unknown[]) ?? []));
    const mounts = commonPrefix(cs.map((c) => (c.volumeMounts as unknown[]) ?? []));
    shared.push({ fields, env, mounts });
    cs.forEach((c, v) => {
      extraEnv[v]!.push(((c.env as unknown[]) ?? []).slice(env.length));
      extraMounts[v]!.push(((c.volumeMounts as unknown[]) ?? []).slice(mounts.length));
    });
  }
  return { shared, extraEnv, extraMounts };
}

/** Everything the template reads from the pod besides its annotations. */
export interface Template {
  /** Applied in order. */
  mutations: Mutation[];
  /** Names the export adds: the pod must use none of them (checks.ts). */
  containerNames: string[];
  volumeNames: string[];
}

export function buildTemplate(ctx: EngineContext, values: Values): Template {
  const { policy } = ctx;
  const prefix = policy.prefix;
  const variants = credentialVariants(policy);
  const modes = values.reachableModes;

  const subs: Substitution[] = [
    { needle: SENTINELS.httpsRepo, expr: values.repo, within: true },
    { needle: SENTINELS.ref, expr: values.ref, within: true },
    { needle: SENTINELS.secret, expr: values.secret, within: true },
    { needle: SENTINELS.sshKey, expr: values.sshKey, within: true },
    { needle: `/${SENTINELS.subPath}`, expr: cond(eq(values.subPath, str('')), str(''), concat(str('/'), values.subPath)), within: true },
    { needle: SENTINELS.mountPath, expr: values.mountPath, within: true },
    { needle: SENTINELS.env, expr: values.env, within: false },
    { needle: formatDuration(Number.parseInt(SENTINELS.period, 10) * 1000), expr: values.periodText, within: false },
    { needle: SENTINELS.depth, expr: values.depth, within: false },
    { needle: formatDuration(Number.parseInt(SENTINELS.syncTimeout, 10) * 1000), expr: values.syncTimeoutText, within: false },
    { needle: SENTINELS.maxFailures, expr: values.maxFailures, within: false },
    { needle: SENTINELS.submodules, expr: values.submodules, within: false },
  ];

  const byMode = new Map<Mode, ProbeParts[]>();
  // Both repository sentinels stand for the same value: written as one, the variants share everything up to the credentials.
  const oneRepo = (parts: ProbeParts): ProbeParts => JSON.parse(JSON.stringify(parts).replaceAll(SENTINELS.sshRepo, SENTINELS.httpsRepo)) as ProbeParts;
  for (const mode of modes) byMode.set(mode, variants.map((variant) => oneRepo(partsOf(probe(ctx, { mode, variant }), prefix))));

  const containerNames = new Set<string>();
  const volumeNames = new Set<string>();

  // The atomic-list holders of each mode's git-sync containers, added by JSONPatch (above).
  const containerHolders = new Map<string, { mode: Mode; kind: 'initContainers' | 'containers'; name: string; holders: Holder[] }>();
  const holdersOf = (mode: Mode, kind: 'initContainers' | 'containers', name: string): Holder[] => {
    const key = `${mode}/${kind}/${name}`;
    if (!containerHolders.has(key)) containerHolders.set(key, { mode, kind, name, holders: [] });
    return containerHolders.get(key)!.holders;
  };

  // The env entries of a credential variant that ApplyConfiguration cannot write, added by JSONPatch (below).
  const envAppends: { mode: Mode; kind: 'initContainers' | 'containers'; name: string; variant: string; entries: unknown[] }[] = [];

  /** The git-sync containers of one kind for one mode: shared fields, env and mounts plus the variant's. */
  const gitSyncContainers = (mode: Mode, kind: 'initContainers' | 'containers'): X<unknown[]> => {
    const parts = byMode.get(mode)!;
    const { shared, extraEnv, extraMounts } = slots(kind, parts);
    const type = `Object.spec.${kind}`;
    return list(
      shared.map((slot, s) => {
        const name = slot.fields.name as string;
        containerNames.add(name);
        if (slot.env.some(needsPatch)) throw new Error(`the engine's ${kind}[${s}] reads a Secret in every credential variant; the export cannot derive it`);
        const env = append(
          literal(slot.env, `${type}.env`, subs) as X<unknown[]>,
          lookup(
            values.variant,
            variants.map((vv, v) => {
              const extra = extraEnv[v]![s]!;
              if (!extra.some(needsPatch) && !repeatsName([...slot.env, ...extra])) return [vv.id, literal(extra, `${type}.env`, subs) as X<unknown[]>] as const;
              // Applied without them; the TypeScript side keeps them: what the pod ends with.
              if (slot.env.length === 0) throw new Error(`the engine's ${kind}[${s}] has only Secret-read env entries; the export cannot append them`);
              envAppends.push({ mode, kind, name, variant: vv.id, entries: extra });
              return [vv.id, { cel: '[]', ev: literal(extra, `${type}.env`, subs).ev } as X<unknown[]>] as const;
            }),
          ),
        );
        const mounts = append(
          literal(slot.mounts, `${type}.volumeMounts`, subs) as X<unknown[]>,
          lookup(
            values.variant,
            variants.map((vv, v) => [vv.id, literal(extraMounts[v]![s], `${type}.volumeMounts`, subs) as X<unknown[]>] as const),
          ),
        );
        const fields = Object.entries(slot.fields).map(([k, v]) => {
          const { x, holders } = applicable(v, `${type}.${k}`, subs);
          for (const h of holders) holdersOf(mode, kind, slot.fields.name as string).push({ path: [k, ...h.path], value: h.value });
          return [k, x] as const;
        });
        // Keep the engine's key order: env and volumeMounts where the engine writes them.
        const order = Object.keys(parts[0]![kind][s]!);
        const all = new Map<string, X<unknown>>([...fields, ['env', env], ['volumeMounts', mounts]]);
        return struct(
          type,
          order.filter((k) => all.has(k)).map((k) => [k, all.get(k)!] as const),
        );
      }),
    );
  };

  const byModeList = (kind: 'initContainers' | 'containers'): X<unknown[]> =>
    lookup(
      values.mode,
      modes.map((m) => [m, gitSyncContainers(m, kind)] as const),
    );

  // Volumes: what every variant shares, then the variant's own (the same in every mode).
  const volumeParts = variants.map((_, v) => byMode.get(modes[0]!)![v]!.volumes);
  for (const p of volumeParts) for (const vol of p) volumeNames.add(vol.name as string);
  const sharedVolumes = commonPrefix(volumeParts);
  // A volume whose source holds an atomic list (a downwardAPI volume's items) is added whole, by
  // JSONPatch after the others: applied without its source, the API server would default it to an
  // emptyDir, and the source added later would be a second one ("may not specify more than 1 volume type").
  const patchedVolume = (vol: unknown): boolean => withoutHolders(vol).holders.length > 0;
  volumeParts.forEach((p) => {
    const first = p.findIndex(patchedVolume);
    if (first >= 0 && (first < sharedVolumes.length || !p.slice(first).every(patchedVolume))) {
      throw new Error(`the engine writes volume ${String(p[first]!.name)} (whose source holds a list) before a volume without one; the export cannot keep the order`);
    }
    if (first === 0) throw new Error(`the engine writes only volumes whose source holds a list; the export cannot append them`);
    // Added whole as a JSONPatch value, where a map crashes v1.32's handler.
    const mapped = first < 0 ? undefined : p.slice(first).find(holdsMap);
    if (mapped) throw new Error(`the engine writes volume ${String(mapped.name)}, with a list and a map; the export cannot add it`);
  });
  // The TypeScript side keeps the patched volumes in the list: what the pod ends with.
  const volumeList = (vols: readonly unknown[]): X<unknown[]> => {
    const applied = list(vols.filter((vol) => !patchedVolume(vol)).map((vol) => applicable(vol, 'Object.spec.volumes', subs).x));
    return { cel: applied.cel, ev: list(vols.map((vol) => literal(vol, 'Object.spec.volumes', subs))).ev };
  };
  const volumes = append(
    volumeList(sharedVolumes),
    lookup(
      values.variant,
      variants.map((vv, v) => [vv.id, volumeList(volumeParts[v]!.slice(sharedVolumes.length))] as const),
    ),
  );
  const volumeOps = (vols: readonly Record<string, unknown>[]): string[] =>
    vols.filter(patchedVolume).map((vol) => `JSONPatch{op: 'add', path: '/spec/volumes/-', value: ${literal(vol, 'Object.spec.volumes', subs).cel}}`);

  // The app containers: the mount, and the env entry where the pod sets env and the container has none of that name.
  const first = byMode.get(modes[0]!)![0]!;
  const mount = first.appMounts[0] as Record<string, unknown>;
  const appMount = literal(mount, 'Object.spec.containers.volumeMounts', subs);
  const envEntry = literal(first.appEnv[0], 'Object.spec.containers.env', subs);
  const selected = (c: string): string =>
    `(${values.containersListed.cel} == '' || ${c}.name in ${values.containersListed.cel}.split(','))`;
  const hasEnv = (c: string): string => `(has(${c}.env) && ${c}.env.exists(e, e.name == ${values.env.cel}))`;
  const appCel =
    `object.spec.containers.filter(c, ${selected('c')}).map(c, Object.spec.containers{name: c.name, ` +
    `volumeMounts: [${appMount.cel}], env: (${values.env.cel} == '' || ${hasEnv('c')}) ? [] : [${envEntry.cel}]})`;
  const appContainers = raw<unknown[]>(appCel, (i: Input) => {
    const listed = values.containersListed.ev(i);
    const envName = values.env.ev(i);
    const spec = i.pod.spec as { containers: Record<string, unknown>[] };
    return spec.containers
      .filter((c) => listed === '' || listed.split(',').includes(c.name as string))
      .map((c) => {
        const envs = (c.env as Record<string, unknown>[] | undefined) ?? [];
        const skip = envName === '' || envs.some((e) => e.name === envName);
        return { name: c.name, volumeMounts: [appMount.ev(i)], env: skip ? [] : [envEntry.ev(i)] };
      });
  });

  // Annotations: the status, with the engine marked instead of the config hash, and the published files.
  const statusKey = `${prefix}${WRITTEN_ANNOTATIONS.status}`;
  const appsJson = raw<string>(
    `'[' + object.spec.containers.filter(c, ${selected('c')}).map(c, '"' + c.name + '"').join(',') + ']'`,
    (i) => {
      const listed = values.containersListed.ev(i);
      const spec = i.pod.spec as { containers: { name: string }[] };
      return JSON.stringify(spec.containers.filter((c) => listed === '' || listed.split(',').includes(c.name)).map((c) => c.name));
    },
  );
  const cases = modes.flatMap((m) => variants.map((vv, v) => ({ key: `${m}/${vv.id}`, mode: m, variant: vv.id, parts: byMode.get(m)![v]! })));
  const statuses = cases.map((c) => {
    const status = JSON.parse(c.parts.annotations[statusKey]!) as Record<string, unknown>;
    delete status.config;
    status.engine = 'admission-policy';
    return status;
  });
  const caseKey = concat(values.mode, str('/'), values.variant);
  const statusParts: X<string>[] = [str('{')];
  Object.keys(statuses[0]!).forEach((field, n) => {
    statusParts.push(str(`${n > 0 ? ',' : ''}${JSON.stringify(field)}:`));
    const texts = statuses.map((st) => JSON.stringify(st[field]));
    const text = (t: string): X<string> => (t === JSON.stringify([SENTINELS.app]) ? appsJson : substituted(t, subs));
    if (texts.every((t) => t === texts[0])) statusParts.push(text(texts[0]!));
    else if (cases.every((c, i) => texts[i] === texts[cases.findIndex((d) => d.mode === c.mode)])) {
      statusParts.push(lookup(values.mode, modes.map((m) => [m, text(texts[cases.findIndex((d) => d.mode === m)]!)] as const)));
    } else if (cases.every((c, i) => texts[i] === texts[cases.findIndex((d) => d.variant === c.variant)])) {
      statusParts.push(lookup(values.variant, variants.map((vv) => [vv.id, text(texts[cases.findIndex((d) => d.variant === vv.id)]!)] as const)));
    } else statusParts.push(lookup(caseKey, cases.map((c, i) => [c.key, text(texts[i]!)] as const)));
  });
  statusParts.push(str('}'));
  const statusExpr = concat(...statusParts);
  // The published files (the policy's known_hosts): constants, one map per set of them.
  const published = variants.map((vv) => {
    const parts = byMode.get(modes[0]!)![variants.indexOf(vv)]!;
    return Object.fromEntries(Object.entries(parts.annotations).filter(([k]) => k !== statusKey));
  });
  const groups = [...new Set(published.map((p) => JSON.stringify(p)))];
  const annotationMap = (extra: Record<string, string>): X<Record<string, unknown>> => mapLiteral([[statusKey, statusExpr], ...Object.entries(extra).map(([k, t]) => [k, str(t)] as const)]);
  const annotations =
    groups.length === 1
      ? annotationMap(JSON.parse(groups[0]!) as Record<string, string>)
      : lookup(
          lookup(values.variant, variants.map((vv, v) => [vv.id, str(String(groups.indexOf(JSON.stringify(published[v]))))] as const)),
          groups.map((g, n) => [String(n), annotationMap(JSON.parse(g) as Record<string, string>)] as const),
        );

  // Several mutations, each within the API server's 100,000 code points per expression, applied in
  // this order: the status first, while spec.containers still holds only the app's (the status lists them).
  const applied = (x: X<Record<string, unknown>>): Mutation => ({ ...x, patchType: 'ApplyConfiguration' });
  const mutations: Mutation[] = [
    applied(struct('Object', [['metadata', struct('Object.metadata', [['annotations', annotations]])]])),
    applied(struct('Object', [['spec', struct('Object.spec', [['volumes', volumes]])]])),
    applied(struct('Object', [['spec', struct('Object.spec', [['initContainers', byModeList('initContainers')]])]])),
    applied(struct('Object', [['spec', struct('Object.spec', [['containers', append(appContainers, byModeList('containers'))]])]])),
  ];
  // Then the atomic-list holders, by JSONPatch: the containers' for the mode the pod got (read off
  // the status the first mutation wrote), the volumes' for its credential variant. The TypeScript
  // side added them with the objects already.
  const opsCel = (ops: readonly string[]): string => `[${ops.join(', ')}]`;
  const byModeOps = modes
    .map((m) => [m, [...containerHolders.values()].filter((h) => h.mode === m).flatMap((h) => holderOps(h.kind, h.name, h.holders, `Object.spec.${h.kind}`, subs))] as const)
    .filter(([, ops]) => ops.length > 0);
  /** JSONPatch operations by the mode the pod got, read off the status the first mutation wrote. */
  const byModeChain = (entries: readonly (readonly [Mode, string])[]): string => {
    const needle = (m: Mode): string => `"mode":${JSON.stringify((JSON.parse(byMode.get(m)![0]!.annotations[statusKey]!) as { mode: unknown }).mode)}`;
    return entries.reduceRight((rest, [m, ops]) => `(object.metadata.annotations[${celString(statusKey)}].contains(${celString(needle(m))}) ? ${ops} : ${rest})`, '[]');
  };
  if (byModeOps.length > 0) mutations.push({ patchType: 'JSONPatch', cel: byModeChain(byModeOps.map(([m, ops]) => [m, opsCel(ops)] as const)), ev: () => ({}) });
  // The Secret-read env entries, appended in the engine's order to the env the container was applied with:
  // for the mode the pod got, then its credential variant.
  if (envAppends.length > 0) {
    const byVariant = (m: Mode): string => {
      const table = variants.map((vv) => {
        const ops = envAppends.filter((e) => e.mode === m && e.variant === vv.id).flatMap((e) => e.entries.map((entry) => envAppendOp(e.kind, e.name, entry, subs)));
        return `${celString(vv.id)}: ${opsCel(ops)}`;
      });
      return `{${table.join(', ')}}[${values.variant.cel}]`;
    };
    mutations.push({ patchType: 'JSONPatch', cel: byModeChain(modes.map((m) => [m, byVariant(m)] as const)), ev: () => ({}) });
  }
  const variantOps = variants.map((vv, v) => [vv.id, volumeOps(volumeParts[v]! as Record<string, unknown>[])] as const);
  if (variantOps.some(([, ops]) => ops.length > 0)) {
    const table = `{${variantOps.map(([id, ops]) => `${celString(id)}: ${opsCel(ops)}`).join(', ')}}`;
    mutations.push({ patchType: 'JSONPatch', cel: `${table}[${values.variant.cel}]`, ev: () => ({}) });
  }
  return { mutations, containerNames: [...containerNames], volumeNames: [...volumeNames] };
}

function mapLiteral(fields: readonly (readonly [string, X<unknown>])[]): X<Record<string, unknown>> {
  return {
    cel: `{${fields.map(([k, v]) => `${celString(k)}: ${v.cel}`).join(', ')}}`,
    ev: (i) => Object.fromEntries(fields.map(([k, v]) => [k, v.ev(i)])),
  };
}
