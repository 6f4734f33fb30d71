/**
 * Errors of the HTTP server, in the shape OpenAI's API answers with, so that its SDKs show the
 * message and apply their own retry rules (they retry 408, 429 and 5xx, honouring Retry-After):
 *
 *   HTTP 400  { "error": { "message": "...", "type": "invalid_request_error", "param": "input", "code": null } }
 *
 * `type` is the broad class ('invalid_request_error' for anything the client can fix,
 * 'server_error' for overload, timeouts and bugs); `code` a stable machine-readable reason or
 * null; `param` the request field at fault or null.
 *
 * Left out: OpenAI's rate-limit and quota errors (this server has a bounded queue, not quotas).
 */

export type ApiErrorType = 'invalid_request_error' | 'server_error';

export interface ApiErrorInit {
  type?: ApiErrorType;
  param?: string | null;
  code?: string | null;
  /** Extra response headers (Retry-After, Allow, WWW-Authenticate). */
  headers?: Record<string, string>;
}

/** An error with an HTTP status, answered as OpenAI's `{ error: { message, type, param, code } }`. */
export class ApiError extends Error {
  override readonly name = 'ApiError';
  readonly status: number;
  readonly type: ApiErrorType;
  readonly param: string | null;
  readonly code: string | null;
  readonly headers: Record<string, string>;

  constructor(status: number, message: string, init: ApiErrorInit = {}) {
    super(message);
    this.status = status;
    this.type = init.type ?? (status >= 500 ? 'server_error' : 'invalid_request_error');
    this.param = init.param ?? null;
    this.code = init.code ?? null;
    this.headers = init.headers ?? {};
  }

  /** The JSON body of the response. */
  toJSON(): { error: { message: string; type: ApiErrorType; param: string | null; code: string | null } } {
    return { error: { message: this.message, type: this.type, param: this.param, code: this.code } };
  }
}

/** A request field with a wrong value: HTTP 400 naming the field. */
export function invalidParam(param: string, message: string, code: string | null = null): ApiError {
  return new ApiError(400, message, { param, code });
}
