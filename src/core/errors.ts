/** An error whose message is meant for the user (printed without a stack trace). */
export class UserError extends Error {
  readonly userFacing = true;
  constructor(message: string) {
    super(message);
    this.name = "UserError";
  }
}

/**
 * An error an HTTP API answers with: status, a machine-readable `code`, a message for people, and OpenAI's
 * `type` (default: "server_error" for 5xx, "invalid_request_error" otherwise) and `param` (the offending field).
 * Both servers (OpenAI-compatible and training) send it as `{error: {message, type, param?, code}}`.
 */
export class ApiError extends Error {
  readonly type: string;
  readonly param: string | null | undefined;
  constructor(
    readonly status: number,
    readonly code: string | null,
    message: string,
    opts: { type?: string; param?: string | null } = {},
  ) {
    super(message);
    this.name = "ApiError";
    this.type = opts.type ?? (status >= 500 ? "server_error" : "invalid_request_error");
    this.param = opts.param;
  }

  /** The JSON error body (`param` only when the error names one, or null was given explicitly). */
  body(): { error: { message: string; type: string; param?: string | null; code: string | null } } {
    return {
      error: {
        message: this.message,
        type: this.type,
        ...(this.param !== undefined ? { param: this.param } : {}),
        code: this.code,
      },
    };
  }
}
