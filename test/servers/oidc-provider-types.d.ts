// Minimal types for the parts of oidc-provider v9 the test launcher uses (the package ships none and
// @types/oidc-provider is not installed).
declare module 'oidc-provider' {
  import type { IncomingMessage, ServerResponse } from 'node:http';

  export interface ProviderToken {
    readonly clientId?: string;
  }

  export interface ProviderConfiguration {
    clients?: readonly Record<string, unknown>[];
    jwks?: { keys: readonly Record<string, unknown>[] };
    features?: Record<string, unknown>;
    ttl?: Record<string, number>;
    extraTokenClaims?: (ctx: unknown, token: ProviderToken) => Promise<Record<string, unknown> | undefined>;
  }

  export default class Provider {
    constructor(issuer: string, configuration: ProviderConfiguration);
    callback(): (req: IncomingMessage, res: ServerResponse) => Promise<void>;
  }
}
