import { BadGateway, GatewayTimeout, type HttpError } from '../core/http-errors.js';

export type UpstreamErrorKind = 'timeout' | 'connect' | 'reset' | 'protocol' | 'aborted' | 'tls';

/** Why an exchange with the upstream failed before a response could be sent; the caller maps it (below). */
export class ForwardError extends Error {
  readonly kind: UpstreamErrorKind;
  constructor(kind: UpstreamErrorKind, cause: unknown) {
    super(`upstream ${kind}`, { cause });
    this.name = 'ForwardError';
    this.kind = kind;
  }
}

// undici and Node socket error codes → what went wrong. The one table of upstream faults.
const KIND_BY_CODE: Readonly<Record<string, UpstreamErrorKind>> = {
  UND_ERR_CONNECT_TIMEOUT: 'timeout',
  UND_ERR_HEADERS_TIMEOUT: 'timeout',
  UND_ERR_BODY_TIMEOUT: 'timeout',
  ETIMEDOUT: 'timeout',
  ECONNREFUSED: 'connect',
  EHOSTUNREACH: 'connect',
  ENETUNREACH: 'connect',
  ENOTFOUND: 'connect',
  EAI_AGAIN: 'connect',
  ECONNRESET: 'reset',
  EPIPE: 'reset',
  UND_ERR_SOCKET: 'reset',
  UND_ERR_CLOSED: 'reset',
  UND_ERR_DESTROYED: 'reset',
  UND_ERR_ABORTED: 'aborted',
  UND_ERR_RES_CONTENT_LENGTH_MISMATCH: 'protocol',
  UND_ERR_REQ_CONTENT_LENGTH_MISMATCH: 'protocol',
  HPE_INVALID_CONSTANT: 'protocol',
  // Certificate verification (Node's names for OpenSSL's X509 errors); ERR_TLS_* and ERR_SSL_* below.
  UNABLE_TO_VERIFY_LEAF_SIGNATURE: 'tls',
  UNABLE_TO_GET_ISSUER_CERT_LOCALLY: 'tls',
  UNABLE_TO_GET_ISSUER_CERT: 'tls',
  DEPTH_ZERO_SELF_SIGNED_CERT: 'tls',
  SELF_SIGNED_CERT_IN_CHAIN: 'tls',
  CERT_HAS_EXPIRED: 'tls',
  CERT_NOT_YET_VALID: 'tls',
  CERT_SIGNATURE_FAILURE: 'tls',
};

export function classifyUpstreamError(error: unknown): UpstreamErrorKind {
  const code = (error as { code?: unknown } | null)?.code;
  if (typeof code === 'string') {
    const kind = KIND_BY_CODE[code];
    if (kind) return kind;
    if (code.startsWith('HPE_')) return 'protocol';
    if (code.startsWith('ERR_TLS_') || code.startsWith('ERR_SSL_')) return 'tls';
  }
  if ((error as Error | null)?.name === 'AbortError') return 'aborted';
  return 'connect';
}

/** 504 for timeouts, 502 for everything else the upstream did wrong. Never includes the upstream URL. */
export function toUpstreamHttpError(kind: UpstreamErrorKind, upstream: string): HttpError {
  switch (kind) {
    case 'timeout':
      return new GatewayTimeout('upstream_timeout', `upstream ${upstream} did not answer in time`);
    case 'connect':
      return new BadGateway('upstream_unreachable', `upstream ${upstream} refused the connection or is unreachable`);
    case 'reset':
      return new BadGateway('upstream_reset', `upstream ${upstream} closed the connection`);
    case 'protocol':
      return new BadGateway('upstream_protocol_error', `upstream ${upstream} sent an invalid response`);
    case 'aborted':
      return new BadGateway('upstream_aborted', `request to upstream ${upstream} was aborted`);
    case 'tls':
      return new BadGateway(
        'upstream_tls_error',
        `TLS with upstream ${upstream} failed: its certificate is not trusted (see tls.ca_file) or it refused ours`,
      );
  }
}
