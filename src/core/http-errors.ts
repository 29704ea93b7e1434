import { ERROR_CATALOGUE, type ErrorCode } from './error-codes.js';

/** The codes of the catalogue answered with this status, so a class can only be built with a code of its own. */
export type ErrorCodeOf<Status extends number> = {
  [Code in ErrorCode]: (typeof ERROR_CATALOGUE)[Code]['status'] extends Status ? Code : never;
}[ErrorCode];

/**
 * The gateway's HTTP errors. Any pipeline step may throw one; `send-error.ts` alone turns it into a response.
 * `code` is stable snake_case (logged and returned, so a denial is one grep); `message` never holds a secret.
 * The status is the catalogue row's of the code (core/error-codes.ts), written nowhere else, so a code and its
 * status cannot disagree.
 */
export class HttpError extends Error {
  readonly status: number;
  readonly code: ErrorCode;
  readonly headers: Readonly<Record<string, string>>;
  /** The authenticator or rule that refused, for the access log (set by whoever decided). */
  decidedBy: string | undefined;
  /** Who was refused, where a verified credential named them (a Grafana user without a team): for the access log. */
  refusedSubject: string | undefined;

  constructor(code: ErrorCode, message: string, headers: Record<string, string> = {}) {
    super(message);
    this.name = new.target.name;
    this.status = ERROR_CATALOGUE[code].status;
    this.code = code;
    this.headers = headers;
  }
}

export class BadRequest extends HttpError {
  constructor(code: ErrorCodeOf<400>, message: string) {
    super(code, message);
  }
}

/** 401: carries the `WWW-Authenticate` challenge (RFC 6750 §3 for Bearer, RFC 7617 for Basic). */
export class Unauthorized extends HttpError {
  constructor(code: ErrorCodeOf<401>, message: string, challenge = 'Bearer realm="scopegate"') {
    super(code, message, { 'www-authenticate': challenge });
  }
}

export class Forbidden extends HttpError {
  constructor(code: ErrorCodeOf<403>, message: string) {
    super(code, message);
  }
}

export class NotFound extends HttpError {
  constructor(code: ErrorCodeOf<404>, message: string) {
    super(code, message);
  }
}

/** 405: carries `Allow`, the methods the endpoint accepts (RFC 9110 §15.5.6). */
export class MethodNotAllowed extends HttpError {
  constructor(message: string, allow: string) {
    super('method_not_allowed', message, { allow });
  }
}

export class PayloadTooLarge extends HttpError {
  constructor(message: string) {
    super('payload_too_large', message);
  }
}

export class UnsupportedMediaType extends HttpError {
  constructor(message: string) {
    super('unsupported_media_type', message);
  }
}

export class BadGateway extends HttpError {
  constructor(code: ErrorCodeOf<502>, message: string) {
    super(code, message);
  }
}

export class ServiceUnavailable extends HttpError {
  constructor(code: ErrorCodeOf<503>, message: string) {
    super(code, message);
  }
}

export class GatewayTimeout extends HttpError {
  constructor(code: ErrorCodeOf<504>, message: string) {
    super(code, message);
  }
}
