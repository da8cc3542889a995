/**
 * A model of what the kubelet does before it starts a container, enough to
 * run a git-sync container of an injected pod as a local process:
 *
 * Environment (kubelet_pods.go makeEnvironmentVariables): `envFrom` first,
 * then `env` in order into one map, so a later entry with the same name
 * replaces an earlier one. `value` has `$(NAME)` expanded from the variables
 * defined before it (`$$` is a literal `$`, an unknown reference stays as
 * written). A `secretKeyRef`/`configMapKeyRef` whose Secret or key is missing
 * is skipped when `optional: true`; otherwise the container is not created:
 * CreateContainerConfigError with the kubelet's message (`couldn't find key K
 * in Secret NS/NAME`, `secret "NAME" not found`). `fieldRef` reads the pod's
 * metadata. The container's variables then override the image's (the
 * container runtime merges them that way).
 *
 * Volumes: one host folder per pod volume. emptyDir: an empty folder, mode
 * 0777, shared by every container that mounts it. secret: the Secret's keys
 * (or `items`) as files with `defaultMode` (0644 when unset) or the item's
 * mode, in the kubelet's layout (a timestamped folder, `..data` pointing at it,
 * one symlink per key); a missing Secret or key that is not optional is a
 * FailedMount (the pod never starts). A Secret changed while the pod runs
 * (`updateSecret`) is swapped in as the kubelet's AtomicWriter does: a new
 * timestamped folder, then `..data` replaced by a rename, so a reader sees
 * the old files or the new ones, never a mix. downwardAPI: `fieldRef` files from the
 * pod's metadata (annotations as the API server stored them). With a pod
 * fsGroup, secret and downwardAPI files get that group and group read, as
 * SetVolumeOwnership does.
 *
 * Mounts: a container sees a volume at its mountPath; as a local process it
 * cannot, so the model translates container paths to host paths: every env
 * value (and command/args element) that is an absolute path, or a
 * colon-separated list of them, under one of the container's mount paths is
 * rewritten to the host folder of that volume (longest mount path wins).
 * Values holding a URL (`://`) are left alone; in git-sync's --git-config
 * value (quoted `"key":"value"` pairs) a quoted value that is such a path is
 * translated the same way (the CA bundle's file). Paths of the image's own files
 * (Image.files) are translated the same way when no mount covers them. This
 * is the model's one liberty; the paths git-sync is told are exactly the ones
 * the engine wrote.
 *
 * Network: the pod's own network namespace is not modelled; the host's
 * 127.0.0.1 stands in for it. Each port the pod listens on (an env value
 * `:PORT` or `0.0.0.0:PORT`, a probe's httpGet port) gets a free host port,
 * and `:PORT` becomes `127.0.0.1:HOSTPORT` (hostPort() tells probes where).
 *
 * Not modelled (a local process cannot do them, or they do not matter here):
 * the securityContext (runAsUser 65533, read-only root filesystem, dropped
 * capabilities, seccomp): the process runs as the current user, with the
 * host's root filesystem standing in for the image's (git, ssh,
 * /etc/ssh/ssh_config); file ownership: the kubelet writes Secret files as
 * root, which is not git-sync's user, and ssh refuses a group-readable key
 * only when the user running it owns the file, so when the tests run as root
 * (git-sync's user here) Secret files are given another owner (nobody,
 * 65534) to keep that fact true; Kubernetes service-link variables; readOnly
 * mounts (not enforced; the app side only reads); probes and restarts.
 */
import type { V1Container, V1EnvVar, V1Pod, V1Volume, V1VolumeMount } from '@kubernetes/client-node';
import { chmodSync, chownSync, lchownSync, mkdirSync, mkdtempSync, readlinkSync, renameSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { freePort } from './ports.ts';

export interface Fixtures {
  /** Secrets of the pod's namespace: name → key → value. */
  secrets?: Record<string, Record<string, string>>;
  configMaps?: Record<string, Record<string, string>>;
}

/** The kubelet could not create the container (the pod shows CreateContainerConfigError). */
export class CreateContainerConfigError extends Error {
  readonly reason = 'CreateContainerConfigError';
}

/** The kubelet could not set up a volume (the pod stays ContainerCreating with a FailedMount event). */
export class FailedMount extends Error {
  readonly reason = 'FailedMount';
}

/** The parts of an image the kubelet combines with the container spec. */
export interface Image {
  /** ENTRYPOINT, with host paths (the binary to run). */
  entrypoint: string[];
  cmd?: string[];
  /** ENV of the image, in order; paths in it are container paths. */
  env: [string, string][];
  /** Container paths of the image's own programs → host paths, for a `command` that names them. */
  programs?: Record<string, string>;
  /** Files of the image's filesystem that env values may name: container path → host path. Mounts hide them. */
  files?: Record<string, string>;
}

/** What to run: argv[0] is a host path; env is complete (nothing else from the host). */
export interface ContainerProcess {
  argv: string[];
  env: Record<string, string>;
}

/** The kubelet's `$(VAR)` expansion (third_party/forked/golang/expansion). */
export function expand(input: string, lookup: (name: string) => string | undefined): string {
  let out = '';
  for (let i = 0; i < input.length; i++) {
    const c = input[i]!;
    if (c !== '$' || i + 1 >= input.length) {
      out += c;
      continue;
    }
    const next = input[i + 1]!;
    if (next === '$') {
      out += '$';
      i++;
    } else if (next === '(') {
      const close = input.indexOf(')', i + 2);
      if (close < 0) {
        out += input.slice(i);
        break;
      }
      const name = input.slice(i + 2, close);
      out += lookup(name) ?? `$(${name})`;
      i = close;
    } else {
      out += c;
    }
  }
  return out;
}

const FILE_MODE_DEFAULT = 0o644;
/** A listen address on every interface of the pod: `:1234`, `0.0.0.0:1234`. */
const LISTEN_ALL = /^(?:0\.0\.0\.0)?:(\d+)$/;
const NOBODY = 65534;
const isRoot = process.getuid?.() === 0;
/** Tells apart payload folders written within the same millisecond. */
let payloads = 0;

/** A pod whose volumes exist as host folders; `close` removes them. */
export class PodSandbox {
  readonly dir: string;
  readonly pod: V1Pod;
  readonly namespace: string;
  private fixtures: Fixtures;
  private readonly volumes = new Map<string, string>();
  private readonly ports = new Map<number, number>();

  private constructor(pod: V1Pod, namespace: string, fixtures: Fixtures) {
    this.pod = pod;
    this.namespace = namespace;
    this.fixtures = fixtures;
    this.dir = mkdtempSync(join(tmpdir(), 'gitsync-pod-'));
    chmodSync(this.dir, 0o755);
  }

  /** Sets up every volume of the pod, as the kubelet does before the first container starts, and gives its ports host ports. */
  static async create(pod: unknown, options: { namespace: string; fixtures: Fixtures }): Promise<PodSandbox> {
    const sandbox = new PodSandbox(pod as V1Pod, options.namespace, options.fixtures);
    try {
      for (const v of sandbox.pod.spec?.volumes ?? []) sandbox.volumes.set(v.name, sandbox.setUp(v));
      const spec = sandbox.pod.spec!;
      for (const c of [...(spec.initContainers ?? []), ...spec.containers]) {
        const ports = [
          ...(c.env ?? []).map((e) => LISTEN_ALL.exec(e.value ?? '')?.[1]),
          ...[c.startupProbe, c.livenessProbe, c.readinessProbe].map((p) => p?.httpGet?.port),
        ].filter((p) => p !== undefined);
        for (const p of ports) if (!sandbox.ports.has(Number(p))) sandbox.ports.set(Number(p), await freePort());
      }
    } catch (e) {
      sandbox.close();
      throw e;
    }
    return sandbox;
  }

  /** The host port on 127.0.0.1 that stands in for a port of the pod. */
  hostPort(podPort: number): number {
    const port = this.ports.get(podPort);
    if (port === undefined) throw new Error(`pod port ${podPort} is not mapped`);
    return port;
  }

  /** Removes the pod's folders; `beforeRemove` runs first (gitsync.ts stops daemons git left in them). */
  close(beforeRemove?: (dir: string) => void): void {
    beforeRemove?.(this.dir);
    rmSync(this.dir, { recursive: true, force: true });
  }

  /** The host folder of a volume. */
  volumeDir(name: string): string {
    const dir = this.volumes.get(name);
    if (!dir) throw new Error(`pod has no volume ${name}`);
    return dir;
  }

  container(name: string): V1Container {
    const spec = this.pod.spec!;
    const c = [...(spec.initContainers ?? []), ...spec.containers].find((x) => x.name === name);
    if (!c) throw new Error(`pod has no container ${name}`);
    return c;
  }

  /** Where a container path of this container is on the host; undefined when no mount covers it. */
  hostPath(containerName: string, path: string): string | undefined {
    const mounts = [...(this.container(containerName).volumeMounts ?? [])].sort((a, b) => b.mountPath.length - a.mountPath.length);
    const m = mounts.find((x: V1VolumeMount) => path === x.mountPath || path.startsWith(`${x.mountPath.replace(/\/$/, '')}/`));
    if (!m) return undefined;
    const base = m.subPath ? join(this.volumeDir(m.name), m.subPath) : this.volumeDir(m.name);
    return join(base, path.slice(m.mountPath.length));
  }

  /** The container's environment as the kubelet resolves it, in order of first definition. */
  resolveEnv(containerName: string): Map<string, string> {
    const c = this.container(containerName);
    const env = new Map<string, string>();
    for (const from of c.envFrom ?? []) {
      const prefix = from.prefix ?? '';
      const ref = from.secretRef ?? from.configMapRef;
      if (!ref) continue;
      const kind = from.secretRef ? 'secret' : 'configmap';
      const data = (from.secretRef ? this.fixtures.secrets : this.fixtures.configMaps)?.[ref.name ?? ''];
      if (!data) {
        if (ref.optional) continue;
        throw new CreateContainerConfigError(`${kind} "${ref.name}" not found`);
      }
      for (const [k, v] of Object.entries(data)) env.set(prefix + k, v);
    }
    for (const e of c.env ?? []) {
      const value = this.envValue(e, env);
      if (value !== undefined) env.set(e.name, value);
    }
    return env;
  }

  private envValue(e: V1EnvVar, defined: Map<string, string>): string | undefined {
    if (e.valueFrom === undefined) return expand(e.value ?? '', (n) => defined.get(n));
    const { secretKeyRef, configMapKeyRef, fieldRef } = e.valueFrom;
    if (secretKeyRef || configMapKeyRef) {
      const ref = (secretKeyRef ?? configMapKeyRef)!;
      const [kind, store] = secretKeyRef ? ['Secret', this.fixtures.secrets] : ['ConfigMap', this.fixtures.configMaps];
      const data = store?.[ref.name ?? ''];
      if (!data) {
        if (ref.optional) return undefined;
        throw new CreateContainerConfigError(`${kind.toLowerCase()} "${ref.name}" not found`);
      }
      if (!(ref.key in data)) {
        if (ref.optional) return undefined;
        throw new CreateContainerConfigError(`couldn't find key ${ref.key} in ${kind} ${this.namespace}/${ref.name}`);
      }
      return data[ref.key];
    }
    if (fieldRef) return this.field(fieldRef.fieldPath);
    throw new Error(`env ${e.name}: valueFrom not modelled: ${JSON.stringify(e.valueFrom)}`);
  }

  /** A pod field as fieldRef reads it. */
  private field(path: string): string {
    const meta = this.pod.metadata ?? {};
    const fmtMap = (m: Record<string, string> = {}): string =>
      Object.keys(m)
        .sort()
        .map((k) => `${k}=${JSON.stringify(m[k])}`)
        .join('\n');
    const keyed = /^metadata\.(annotations|labels)\['(.+)'\]$/.exec(path);
    if (keyed) return (keyed[1] === 'annotations' ? meta.annotations : meta.labels)?.[keyed[2]!] ?? '';
    switch (path) {
      case 'metadata.name':
        return meta.name ?? '';
      case 'metadata.namespace':
        return this.namespace;
      case 'metadata.annotations':
        return fmtMap(meta.annotations);
      case 'metadata.labels':
        return fmtMap(meta.labels);
      default:
        throw new Error(`fieldRef not modelled: ${path}`);
    }
  }

  /**
   * The process the container runtime would start: the image's entrypoint
   * (or the container's command, when set), args, and the environment of the
   * image overridden by the container's, with container paths translated to
   * the host folders of the container's mounts. Throws CreateContainerConfigError.
   */
  process(containerName: string, image: Image): ContainerProcess {
    const c = this.container(containerName);
    const resolved = this.resolveEnv(containerName);
    const env = new Map<string, string>(image.env);
    for (const [k, v] of resolved) env.set(k, v);
    const lookup = (n: string): string | undefined => resolved.get(n);
    const command = c.command ? c.command.map((a) => expand(a, lookup)) : undefined;
    const args = c.args ? c.args.map((a) => expand(a, lookup)) : command ? [] : (image.cmd ?? []);
    let argv: string[];
    if (command) {
      const program = image.programs?.[command[0]!];
      if (!program) throw new Error(`command ${command[0]} is not a program of the image`);
      argv = [program, ...command.slice(1), ...args];
    } else argv = [...image.entrypoint, ...args];
    const translate = (value: string): string => this.translate(containerName, value, image.files ?? {});
    return {
      argv: [argv[0]!, ...argv.slice(1).map(translate)],
      env: Object.fromEntries([...env].map(([k, v]) => [k, translate(v)])),
    };
  }

  private translate(containerName: string, value: string, files: Record<string, string>): string {
    const listen = LISTEN_ALL.exec(value);
    if (listen) return `127.0.0.1:${this.hostPort(Number(listen[1]))}`;
    // git-sync's --git-config ("key":"value",…): a quoted value that is a path under a mount (the CA bundle) is translated too.
    if (value.startsWith('"')) return value.replace(/"(\/[^"\\,]*)"/g, (_quoted, path: string) => `"${this.hostPath(containerName, path) ?? path}"`);
    if (value.includes('://') || !value.startsWith('/')) return value;
    return value
      .split(':')
      .map((part) => (part.startsWith('/') ? (this.hostPath(containerName, part) ?? files[part] ?? part) : part))
      .join(':');
  }

  private setUp(v: V1Volume): string {
    const dir = join(this.dir, 'volumes', v.name);
    mkdirSync(dir, { recursive: true });
    const fsGroup = this.pod.spec?.securityContext?.fsGroup;
    if (v.emptyDir) {
      chmodSync(dir, 0o777);
      return dir;
    }
    if (v.secret) {
      const name = v.secret.secretName ?? '';
      const data = this.fixtures.secrets?.[name];
      if (!data) {
        if (v.secret.optional) return this.writeAtomic(dir, {}, fsGroup);
        throw new FailedMount(`MountVolume.SetUp failed for volume "${v.name}" : secret "${name}" not found`);
      }
      return this.writeAtomic(dir, this.secretFiles(v, data), fsGroup);
    }
    if (v.downwardAPI) {
      const files: Record<string, { data: string; mode: number }> = {};
      for (const item of v.downwardAPI.items ?? []) {
        if (!item.fieldRef) throw new Error(`downwardAPI item ${item.path}: only fieldRef is modelled`);
        files[item.path] = { data: this.field(item.fieldRef.fieldPath), mode: item.mode ?? v.downwardAPI.defaultMode ?? FILE_MODE_DEFAULT };
      }
      return this.writeAtomic(dir, files, fsGroup);
    }
    throw new Error(`volume ${v.name}: kind not modelled: ${JSON.stringify(v)}`);
  }

  /** A secret volume's files from the Secret's data: every key, or the volume's `items`. */
  private secretFiles(v: V1Volume, data: Record<string, string>): Record<string, { data: string; mode: number }> {
    const files: Record<string, { data: string; mode: number }> = {};
    const defaultMode = v.secret!.defaultMode ?? FILE_MODE_DEFAULT;
    if (v.secret!.items) {
      for (const item of v.secret!.items) {
        if (!(item.key in data)) {
          if (v.secret!.optional) continue;
          throw new FailedMount(`MountVolume.SetUp failed for volume "${v.name}" : references non-existent secret key: ${item.key}`);
        }
        files[item.path] = { data: data[item.key]!, mode: item.mode ?? defaultMode };
      }
    } else for (const [k, value] of Object.entries(data)) files[k] = { data: value, mode: defaultMode };
    return files;
  }

  /**
   * The Secret changed in the API: the kubelet's next sync of each volume
   * that mounts it writes a new timestamped folder and swaps `..data` to it
   * with one rename (AtomicWriter), then removes the old folder. Keys stay
   * as they were (the tests rotate values). Env already resolved does not
   * change: a running container keeps the values it started with.
   */
  updateSecret(name: string, data: Record<string, string>): void {
    this.fixtures = { ...this.fixtures, secrets: { ...this.fixtures.secrets, [name]: data } };
    const fsGroup = this.pod.spec?.securityContext?.fsGroup;
    for (const v of this.pod.spec?.volumes ?? []) {
      if (v.secret?.secretName !== name) continue;
      const dir = this.volumeDir(v.name);
      const old = readlinkSync(join(dir, '..data'));
      const stamp = this.writePayload(dir, this.secretFiles(v, data), fsGroup);
      symlinkSync(stamp, join(dir, '..data_tmp'));
      renameSync(join(dir, '..data_tmp'), join(dir, '..data'));
      rmSync(join(dir, old), { recursive: true, force: true });
    }
  }

  /** A new ..<timestamp> folder holding the files; its name. */
  private writePayload(dir: string, files: Record<string, { data: string; mode: number }>, fsGroup: number | undefined): string {
    const stamp = `..${new Date().toISOString().replace(/[-:]/g, '_').replace('T', '_').replace('Z', '')}_${(payloads++).toString(36)}`;
    const payload = join(dir, stamp);
    mkdirSync(payload, { mode: 0o755 });
    const owner = isRoot ? NOBODY : -1;
    for (const [path, f] of Object.entries(files)) {
      const file = join(payload, path);
      mkdirSync(dirname(file), { recursive: true });
      writeFileSync(file, f.data);
      // SetVolumeOwnership: group fsGroup and group read for read-only volumes.
      chmodSync(file, fsGroup === undefined ? f.mode : f.mode | 0o440);
      if (isRoot) chownSync(file, owner, fsGroup ?? NOBODY);
    }
    return stamp;
  }

  /** The kubelet's AtomicWriter layout: ..<timestamp>/files, ..data → it, key → ..data/key. */
  private writeAtomic(dir: string, files: Record<string, { data: string; mode: number }>, fsGroup: number | undefined): string {
    const owner = isRoot ? NOBODY : -1;
    const stamp = this.writePayload(dir, files, fsGroup);
    symlinkSync(stamp, join(dir, '..data'));
    for (const path of Object.keys(files)) {
      const top = path.split('/')[0]!;
      try {
        symlinkSync(join('..data', top), join(dir, top));
      } catch {
        // already linked (several items under one folder)
      }
      if (isRoot) lchownSync(join(dir, top), owner, fsGroup ?? NOBODY);
    }
    chmodSync(dir, 0o755);
    return dir;
  }
}
