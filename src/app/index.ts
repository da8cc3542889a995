/**
 * The application: `serve`'s configuration, the one place that builds the
 * running webhook from it, and how it shuts down. The command line parses
 * argv with serveConfig, calls startApp and hands the result to
 * runUntilSignal; tests start the sources alone with startSources.
 */
export { DEFAULT_POLICY_CONFIGMAP, DEFAULT_POLICY_KEY, DEV_PREVIEW_PORT, SERVE_OPTIONS_USAGE, serveConfig, sourcesConfig, type PolicyConfigMapConfig, type PreviewListenerConfig, type ServeConfig, type SourcesConfig } from './config.ts';
export { runUntilSignal } from './lifecycle.ts';
export { startSources, type Sources, type StartSourcesOptions } from './sources.ts';
export { startApp, type App, type StartOptions } from './start.ts';
