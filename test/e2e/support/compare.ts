/**
 * Comparing a pod the API server stored with the pod the preview predicted,
 * on what the injector adds only. The API server changes a pod on its own:
 * defaults (terminationMessagePath, probe schemes, imagePullPolicy…), the
 * service account token volume and its mounts, a generated name, uid and
 * timestamps. So the prediction is matched by name (containers, volumes,
 * env variables, mounts, annotations), and each predicted object must be
 * contained in the stored one: every field the injector wrote, with the
 * value it wrote; fields the API server added are not looked at. Lists the
 * injector wrote must start with what it wrote (the API server may append,
 * as it appends the token mount to every container).
 */

type Json = Record<string, unknown>;
const isObject = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);

/** How `actual` fails to contain `expected`, one line per difference; empty when it does. */
export function containmentProblems(expected: unknown, actual: unknown, path = ''): string[] {
  if (Array.isArray(expected)) {
    if (!Array.isArray(actual)) return [`${path}: expected a list, found ${JSON.stringify(actual)}`];
    if (actual.length < expected.length) return [`${path}: expected at least ${expected.length} items, found ${actual.length}`];
    return expected.flatMap((item, i) => containmentProblems(item, actual[i], `${path}[${i}]`));
  }
  if (isObject(expected)) {
    if (!isObject(actual)) return [`${path}: expected an object, found ${JSON.stringify(actual)}`];
    return Object.entries(expected).flatMap(([k, v]) => (v === undefined ? [] : containmentProblems(v, actual[k], path ? `${path}.${k}` : k)));
  }
  return Object.is(expected, actual) ? [] : [`${path}: expected ${JSON.stringify(expected)}, found ${JSON.stringify(actual)}`];
}

interface Named {
  name: string;
  [k: string]: unknown;
}

interface PodView {
  metadata?: { annotations?: Record<string, string> | null } | null;
  spec: {
    containers: (Named & { env?: Named[] | null; volumeMounts?: (Named & { mountPath: string })[] | null })[];
    initContainers?: Named[] | null;
    volumes?: Named[] | null;
    securityContext?: { fsGroup?: number } | null;
  };
}

/** What the preview says was injected: the names of the containers and volumes it added, and the app containers it changed. */
export interface InjectionView {
  initContainers: string[];
  containers: string[];
  volumes: string[];
  appContainers: string[];
  /** The named repositories of a pod with several, each with its own names. */
  repositories?: Omit<InjectionView, 'repositories'>[];
}

/** What every repository added, together. */
function everyRepository(injection: InjectionView): Omit<InjectionView, 'repositories'> {
  const all = [injection, ...(injection.repositories ?? [])];
  return {
    initContainers: all.flatMap((r) => r.initContainers),
    containers: all.flatMap((r) => r.containers),
    volumes: all.flatMap((r) => r.volumes),
    appContainers: [...new Set(all.flatMap((r) => r.appContainers))],
  };
}

const byName = <T extends Named>(list: readonly T[] | null | undefined): Map<string, T> => new Map((list ?? []).map((x) => [x.name, x]));
const allContainers = (pod: PodView): Named[] => [...(pod.spec.initContainers ?? []), ...pod.spec.containers];
const mountKey = (m: { name: string; mountPath: string }): string => `${m.name} at ${m.mountPath}`;

/**
 * How the stored pod differs from the prediction in what the injector
 * added: `input` is the pod as sent, `predicted` the preview's result for it,
 * `injection` the preview's account of what it added.
 */
export function injectedDifferences(input: unknown, predicted: unknown, stored: unknown, asPreviewed: InjectionView): string[] {
  const injection = everyRepository(asPreviewed);
  const sent = input as PodView;
  const want = predicted as PodView;
  const got = stored as PodView;
  const problems: string[] = [];
  // containmentProblems' lines start with the path inside the compared object ('' at its root).
  const prefixed = (where: string) => (line: string) => `${where}${line.startsWith(':') || line.startsWith('[') ? '' : '.'}${line}`;

  // Annotations the injector wrote (its status, the known_hosts data).
  const sentAnnotations = sent.metadata?.annotations ?? {};
  const gotAnnotations = got.metadata?.annotations ?? {};
  for (const [key, value] of Object.entries(want.metadata?.annotations ?? {})) {
    if (key in sentAnnotations) continue;
    if (gotAnnotations[key] !== value) problems.push(`metadata.annotations[${key}]: expected ${JSON.stringify(value)}, found ${JSON.stringify(gotAnnotations[key])}`);
  }

  // The containers and volumes it added, each contained in the stored one of the same name, in the same list.
  for (const list of ['initContainers', 'containers'] as const) {
    const names = list === 'initContainers' ? injection.initContainers : injection.containers;
    const wanted = byName(want.spec[list] as Named[] | undefined);
    const stored = byName(got.spec[list] as Named[] | undefined);
    for (const name of names) {
      if (!stored.has(name)) problems.push(`spec.${list}: no container ${name}`);
      else problems.push(...containmentProblems(wanted.get(name), stored.get(name)).map(prefixed(`spec.${list}[${name}]`)));
    }
  }
  const wantedVolumes = byName(want.spec.volumes);
  const storedVolumes = byName(got.spec.volumes);
  for (const name of injection.volumes) {
    if (!storedVolumes.has(name)) problems.push(`spec.volumes: no volume ${name}`);
    else problems.push(...containmentProblems(wantedVolumes.get(name), storedVolumes.get(name)).map(prefixed(`spec.volumes[${name}]`)));
  }

  // What it added to the app containers: the read-only mount and the env variable.
  const sentContainers = byName(sent.spec.containers);
  const wantedContainers = byName(want.spec.containers);
  const storedContainers = byName(got.spec.containers);
  for (const name of injection.appContainers) {
    const before = sentContainers.get(name);
    const after = wantedContainers.get(name);
    const now = storedContainers.get(name);
    if (!before || !after || !now) {
      problems.push(`spec.containers: app container ${name} is missing`);
      continue;
    }
    const sentEnv = new Set((before.env ?? []).map((e) => e.name));
    const storedEnv = byName(now.env);
    for (const e of after.env ?? []) {
      if (sentEnv.has(e.name)) continue;
      problems.push(...containmentProblems(e, storedEnv.get(e.name)).map(prefixed(`spec.containers[${name}].env[${e.name}]`)));
    }
    const sentMounts = new Set((before.volumeMounts ?? []).map(mountKey));
    const storedMounts = new Map((now.volumeMounts ?? []).map((m) => [mountKey(m), m]));
    for (const m of after.volumeMounts ?? []) {
      if (sentMounts.has(mountKey(m))) continue;
      problems.push(...containmentProblems(m, storedMounts.get(mountKey(m))).map(prefixed(`spec.containers[${name}].volumeMounts[${mountKey(m)}]`)));
    }
  }

  const fsGroup = want.spec.securityContext?.fsGroup;
  if (fsGroup !== sent.spec.securityContext?.fsGroup && got.spec.securityContext?.fsGroup !== fsGroup) {
    problems.push(`spec.securityContext.fsGroup: expected ${fsGroup}, found ${got.spec.securityContext?.fsGroup}`);
  }

  // And nothing else: the stored pod has exactly the sent containers plus the injected ones.
  const expectedNames = [...allContainers(sent).map((c) => c.name), ...injection.initContainers, ...injection.containers].sort();
  const storedNames = allContainers(got)
    .map((c) => c.name)
    .sort();
  if (JSON.stringify(storedNames) !== JSON.stringify(expectedNames)) {
    problems.push(`containers: expected ${expectedNames.join(', ')}, found ${storedNames.join(', ')}`);
  }
  return problems;
}

/** How the stored pod shows an injection that should not have happened: the status annotation, or containers beyond the sent ones. */
export function untouchedProblems(input: unknown, stored: unknown, statusAnnotation: string): string[] {
  const sent = input as PodView;
  const got = stored as PodView;
  const problems: string[] = [];
  if (got.metadata?.annotations?.[statusAnnotation] !== undefined && sent.metadata?.annotations?.[statusAnnotation] === undefined) {
    problems.push(`metadata.annotations[${statusAnnotation}] was added`);
  }
  const sentNames = allContainers(sent).map((c) => c.name).sort();
  const storedNames = allContainers(got).map((c) => c.name).sort();
  if (JSON.stringify(storedNames) !== JSON.stringify(sentNames)) problems.push(`containers: sent ${sentNames.join(', ')}, stored ${storedNames.join(', ')}`);
  return problems;
}
