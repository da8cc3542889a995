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
import { append, list, literal, struct, substituted, type Substitution } from './literal.ts';
import { credentialVariants, partsOf, probe, SENTINELS, type ProbeParts } from './probe.ts';
import type { Values } from './values.ts';

/** The mutation, as CEL and as its TypeScript evaluation (the ApplyConfiguration as JSON). */
export type Mutation = X<Record<string, unknown>>;

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

  /** The git-sync containers of one kind for one mode: shared fields, env and mounts plus the variant's. */
  const gitSyncContainers = (mode: Mode, kind: 'initContainers' | 'containers'): X<unknown[]> => {
    const parts = byMode.get(mode)!;
    const { shared, extraEnv, extraMounts } = slots(kind, parts);
    const type = `Object.spec.${kind}`;
    return list(
      shared.map((slot, s) => {
        containerNames.add(slot.fields.name as string);
        const env = append(
          literal(slot.env, `${type}.env`, subs) as X<unknown[]>,
          lookup(
            values.variant,
            variants.map((vv, v) => [vv.id, literal(extraEnv[v]![s], `${type}.env`, subs) as X<unknown[]>] as const),
          ),
        );
        const mounts = append(
          literal(slot.mounts, `${type}.volumeMounts`, subs) as X<unknown[]>,
          lookup(
            values.variant,
            variants.map((vv, v) => [vv.id, literal(extraMounts[v]![s], `${type}.volumeMounts`, subs) as X<unknown[]>] as const),
          ),
        );
        const fields = Object.entries(slot.fields).map(([k, v]) => [k, literal(v, `${type}.${k}`, subs)] as const);
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
  const volumes = append(
    literal(sharedVolumes, 'Object.spec.volumes', subs) as X<unknown[]>,
    lookup(
      values.variant,
      variants.map((vv, v) => [vv.id, literal(volumeParts[v]!.slice(sharedVolumes.length), 'Object.spec.volumes', subs) as X<unknown[]>] as const),
    ),
  );

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
  const mutations: Mutation[] = [
    struct('Object', [['metadata', struct('Object.metadata', [['annotations', annotations]])]]),
    struct('Object', [['spec', struct('Object.spec', [['volumes', volumes]])]]),
    struct('Object', [['spec', struct('Object.spec', [['initContainers', byModeList('initContainers')]])]]),
    struct('Object', [['spec', struct('Object.spec', [['containers', append(appContainers, byModeList('containers'))]])]]),
  ];
  return { mutations, containerNames: [...containerNames], volumeNames: [...volumeNames] };
}

function mapLiteral(fields: readonly (readonly [string, X<unknown>])[]): X<Record<string, unknown>> {
  return {
    cel: `{${fields.map(([k, v]) => `${celString(k)}: ${v.cel}`).join(', ')}}`,
    ev: (i) => Object.fromEntries(fields.map(([k, v]) => [k, v.ev(i)])),
  };
}
