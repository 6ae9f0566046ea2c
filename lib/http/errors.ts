/**
 * The dashboard API's one error type. Every failure a caller can act on is an ApiError with a
 * type from this table; anything else is a bug and is answered with a generic 500.
 */
export const errorStatus = {
  invalid_request: 400,
  unauthorized: 401,
  invalid_credentials: 401,
  forbidden: 403,
  not_found: 404,
  conflict: 409,
  payload_too_large: 413,
  unsupported_media_type: 415,
  rate_limited: 429,
  internal_error: 500,
  bad_gateway: 502,
  service_unavailable: 503,
} as const;

export type ErrorType = keyof typeof errorStatus;

export class ApiError extends Error {
  constructor(
    readonly type: ErrorType,
    message: string,
    readonly extra: { retryAfterSeconds?: number; field?: string } = {},
  ) {
    super(message);
    this.name = "ApiError";
  }

  get status(): number {
    return errorStatus[this.type];
  }
}
