/**
 * The HTTP plumbing both servers share (node:http, no framework): reading a JSON body under a size limit, sending
 * JSON, turning any thrown value into an `ApiError` response, and listen/close. Protocols (wire types and their
 * validation) live in openai-wire.ts / training-wire.ts; dispatch in openai-server.ts / training-server.ts.
 */
import http from "node:http";
import { ApiError } from "../core/errors.js";

export interface JsonBodyOptions {
  /** Largest accepted body in bytes (413 request_too_large beyond it). */
  limit: number;
  /** An empty body reads as `{}` (training API) instead of a 400 invalid_json (OpenAI API). */
  emptyAsObject?: boolean;
  /** The body must be a JSON object (400 invalid_json otherwise). */
  requireObject?: boolean;
}

/** Reads and parses a JSON request body; failures are `ApiError`s (413 request_too_large, 400 invalid_json). */
export function readJsonBody(req: http.IncomingMessage, o: JsonBodyOptions): Promise<unknown> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let failed = false;
    req.on("data", (c: Buffer) => {
      if (failed) return;
      size += c.length;
      if (size > o.limit) {
        failed = true;
        reject(new ApiError(413, "request_too_large", `request body exceeds ${o.limit} bytes`, { param: null }));
        return;
      }
      chunks.push(c);
    });
    req.on("error", (e) => reject(e));
    req.on("end", () => {
      if (failed) return;
      const text = Buffer.concat(chunks).toString("utf8");
      if (o.emptyAsObject && text.trim() === "") return resolve({});
      let parsed: unknown;
      try {
        parsed = JSON.parse(text);
      } catch (e) {
        return reject(
          new ApiError(400, "invalid_json", `request body is not valid JSON: ${(e as Error).message}`, { param: null }),
        );
      }
      if (o.requireObject && (typeof parsed !== "object" || parsed === null || Array.isArray(parsed))) {
        return reject(new ApiError(400, "invalid_json", "the request body must be a JSON object", { param: null }));
      }
      resolve(parsed);
    });
  });
}

/** Sends a JSON body (`text` already serialised, or an object to JSON.stringify). */
export function sendJson(
  res: http.ServerResponse,
  status: number,
  body: string | object,
  headers: Record<string, string> = {},
): void {
  const text = typeof body === "string" ? body : JSON.stringify(body);
  res.writeHead(status, {
    "content-type": "application/json; charset=utf-8",
    "content-length": String(Buffer.byteLength(text)),
    ...headers,
  });
  res.end(text);
}

/** Any thrown value as an ApiError: ApiErrors pass through; anything else becomes a 500 with `code` (and is logged). */
export function toApiError(e: unknown, code: string | null, log?: (line: string) => void, prefix = ""): ApiError {
  if (e instanceof ApiError) return e;
  log?.(`${(e as Error)?.stack ?? String(e)}`);
  return new ApiError(500, code, `${prefix}${(e as Error)?.message ?? String(e)}`, { param: null });
}

/** An http.Server whose handler's rejections go to `onError`. */
export function createServer(
  handle: (req: http.IncomingMessage, res: http.ServerResponse) => Promise<void>,
  onError: (res: http.ServerResponse, e: unknown) => void,
): http.Server {
  return http.createServer((req, res) => {
    handle(req, res).catch((e: unknown) => onError(res, e));
  });
}

/** Starts listening; resolves to "http://host:port" (IPv6 hosts bracketed). */
export function listen(server: http.Server, port: number, host: string): Promise<string> {
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, host, () => {
      server.off("error", reject);
      const a = server.address();
      const p = typeof a === "object" && a ? a.port : port;
      resolve(`http://${host.includes(":") ? `[${host}]` : host}:${p}`);
    });
  });
}

/** Stops accepting connections and closes the open ones. */
export function close(server: http.Server): Promise<void> {
  return new Promise((resolve) => {
    server.close(() => resolve());
    server.closeAllConnections?.();
  });
}
