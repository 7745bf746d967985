/** The fault proxy's public surface (the CLI command and in-process users import from here). */
export { startProxyServer, DEFAULT_API_PORT, type ProxyServer, type ProxyServerOptions } from './server.ts';
export { ProxyRegistry, type RegistryOptions, type RemovedToxic } from './registry.ts';
export { ProxyApiError } from './api-error.ts';
export { TOXIPROXY_API_VERSION } from './api.ts';
export { toxicKinds, toxicTypes, type ToxicType } from './toxics/index.ts';
export type * from './types.ts';
