/**
 * The gateway's HTTP errors. Any pipeline step may throw one; `send-error.ts` alone turns it into a response.
 * `code` is stable snake_case (logged and returned, so a denial is one grep); `message` never holds a secret.
 */
export class HttpError extends Error {
  readonly status: number;
  readonly code: string;
  readonly headers: Readonly<Record<string, string>>;
  /** The authenticator or rule that refused, for the access log (set by whoever decided). */
  decidedBy: string | undefined;

  constructor(status: number, code: string, message: string, headers: Record<string, string> = {}) {
    super(message);
    this.name = new.target.name;
    this.status = status;
    this.code = code;
    this.headers = headers;
  }
}

export class BadRequest extends HttpError {
  constructor(code: string, message: string) {
    super(400, code, message);
  }
}

/** 401: carries the `WWW-Authenticate` challenge (RFC 6750 §3 for Bearer, RFC 7617 for Basic). */
export class Unauthorized extends HttpError {
  constructor(code: string, message: string, challenge = 'Bearer realm="scopegate"') {
    super(401, code, message, { 'www-authenticate': challenge });
  }
}

export class Forbidden extends HttpError {
  constructor(code: string, message: string) {
    super(403, code, message);
  }
}

export class NotFound extends HttpError {
  constructor(code: string, message: string) {
    super(404, code, message);
  }
}

export class MethodNotAllowed extends HttpError {
  constructor(message: string) {
    super(405, 'method_not_allowed', message);
  }
}

export class PayloadTooLarge extends HttpError {
  constructor(message: string) {
    super(413, 'payload_too_large', message);
  }
}

export class UnsupportedMediaType extends HttpError {
  constructor(message: string) {
    super(415, 'unsupported_media_type', message);
  }
}

export class BadGateway extends HttpError {
  constructor(code: string, message: string) {
    super(502, code, message);
  }
}

export class ServiceUnavailable extends HttpError {
  constructor(code: string, message: string) {
    super(503, code, message);
  }
}

export class GatewayTimeout extends HttpError {
  constructor(code: string, message: string) {
    super(504, code, message);
  }
}
