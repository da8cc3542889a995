/**
 * Environment variable names the `env` annotation may not set. The injector
 * sets the variable in the app containers to the synced folder, whose files
 * come from the repository; a name that tells programs where to find
 * executables, libraries or modules, which file a shell runs first, where
 * their configuration, home or trusted certificates are, or how to reach
 * the Kubernetes API would let whoever can push to the repository run code
 * in, or reconfigure, the app. Names are compared case-insensitively: some
 * readers take both spellings (http_proxy), and no app needs 'Path'.
 */

const PROGRAMS = 'tells programs where to find executables';
const LOADER = 'tells the dynamic loader what to load into every program';
const SHELL = 'makes a shell read or run it when it starts';
const INTERPRETER = 'makes an interpreter load code or options from it';
const CONFIG = 'tells programs where their home, configuration or temporary files are';
const GIT = 'changes what git reads, runs or writes';
const TLS = 'sets which certificates are trusted';
const PROXY = 'routes network traffic';
const KUBERNETES = 'is how programs find the Kubernetes API';

export const RISKY_ENV_NAMES: Readonly<Record<string, string>> = {
  PATH: PROGRAMS,
  CDPATH: PROGRAMS,
  GCONV_PATH: LOADER,
  LOCPATH: LOADER,
  NLSPATH: LOADER,
  HOSTALIASES: LOADER,
  RESOLV_HOST_CONF: LOADER,
  BASH_ENV: SHELL,
  ENV: SHELL,
  IFS: 'changes how the shell splits words',
  PS4: SHELL,
  PROMPT_COMMAND: SHELL,
  SHELLOPTS: SHELL,
  BASHOPTS: SHELL,
  ZDOTDIR: SHELL,
  PYTHONPATH: INTERPRETER,
  PYTHONHOME: INTERPRETER,
  PYTHONSTARTUP: INTERPRETER,
  PYTHONUSERBASE: INTERPRETER,
  PYTHONSAFEPATH: INTERPRETER,
  NODE_OPTIONS: INTERPRETER,
  NODE_PATH: INTERPRETER,
  PERL5LIB: INTERPRETER,
  PERL5OPT: INTERPRETER,
  PERLLIB: INTERPRETER,
  RUBYLIB: INTERPRETER,
  RUBYOPT: INTERPRETER,
  GEM_HOME: INTERPRETER,
  GEM_PATH: INTERPRETER,
  JAVA_TOOL_OPTIONS: INTERPRETER,
  _JAVA_OPTIONS: INTERPRETER,
  JDK_JAVA_OPTIONS: INTERPRETER,
  CLASSPATH: INTERPRETER,
  HOME: CONFIG,
  SHELL: CONFIG,
  USER: CONFIG,
  TMPDIR: CONFIG,
  XDG_CONFIG_HOME: CONFIG,
  XDG_CONFIG_DIRS: CONFIG,
  XDG_DATA_HOME: CONFIG,
  XDG_DATA_DIRS: CONFIG,
  XDG_RUNTIME_DIR: CONFIG,
  GIT_DIR: GIT,
  GIT_WORK_TREE: GIT,
  GIT_EXEC_PATH: GIT,
  GIT_TEMPLATE_DIR: GIT,
  GIT_CONFIG: GIT,
  GIT_CONFIG_GLOBAL: GIT,
  GIT_CONFIG_SYSTEM: GIT,
  GIT_CONFIG_PARAMETERS: GIT,
  GIT_SSH: GIT,
  GIT_SSH_COMMAND: GIT,
  GIT_ASKPASS: GIT,
  SSH_ASKPASS: GIT,
  SSL_CERT_FILE: TLS,
  SSL_CERT_DIR: TLS,
  REQUESTS_CA_BUNDLE: TLS,
  CURL_CA_BUNDLE: TLS,
  NODE_EXTRA_CA_CERTS: TLS,
  GIT_SSL_CAINFO: TLS,
  GIT_SSL_CAPATH: TLS,
  HTTP_PROXY: PROXY,
  HTTPS_PROXY: PROXY,
  ALL_PROXY: PROXY,
  NO_PROXY: PROXY,
};

/** Families, by prefix: every loader variable, git's numbered config entries, the Kubernetes service variables. */
export const RISKY_ENV_PREFIXES: readonly (readonly [string, string])[] = [
  ['LD_', LOADER],
  ['DYLD_', LOADER],
  ['MALLOC_', LOADER],
  ['GIT_CONFIG_', GIT],
  ['KUBERNETES_', KUBERNETES],
];

/** Why `name` may not be set by the env annotation, or undefined when it may. */
export function riskyEnvReason(name: string): string | undefined {
  const upper = name.toUpperCase();
  if (Object.hasOwn(RISKY_ENV_NAMES, upper)) return RISKY_ENV_NAMES[upper];
  return RISKY_ENV_PREFIXES.find(([prefix]) => upper.startsWith(prefix))?.[1];
}
