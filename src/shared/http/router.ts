import type { IncomingMessage, ServerResponse } from "node:http";
import { HttpError } from "./http-error.ts";

export type Handler = (
  req: IncomingMessage,
  res: ServerResponse,
  params: Readonly<Record<string, string>>,
) => Promise<void>;

export interface Route {
  readonly method: "GET" | "POST";
  /** Literal segments and `:name` parameters, e.g. `/generations/:n`. */
  readonly path: string;
  /** Mutating routes: need the bearer token when one is set. */
  readonly guarded?: boolean;
  readonly handle: Handler;
}

function match(pattern: string, pathname: string): Record<string, string> | undefined {
  const want = pattern.split("/").filter(Boolean);
  const got = pathname.split("/").filter(Boolean);
  if (want.length !== got.length) return undefined;
  const params: Record<string, string> = {};
  for (const [i, w] of want.entries()) {
    const g = got[i] as string;
    if (w.startsWith(":")) {
      try {
        params[w.slice(1)] = decodeURIComponent(g);
      } catch {
        return undefined;
      }
    } else if (w !== g) return undefined;
  }
  return params;
}

/**
 * The path of a request target. An origin-form target is parsed against a fixed base as is, so `//x`
 * stays a path (the URL parser alone reads it as a host); absolute-form and `*` are refused (400).
 */
export function requestPath(target: string | undefined): string {
  const raw = target ?? "/";
  if (raw.startsWith("/")) {
    try {
      return new URL(`http://loom${raw}`).pathname;
    } catch {
      // refused below
    }
  }
  throw new HttpError(
    400,
    "INVALID_TARGET",
    `the request target ${JSON.stringify(raw.slice(0, 200))} is not a path; send a path such as /status`,
  );
}

/** "GET /, /logs; POST /chat": the route table in words, for 404 answers. */
export function describeRoutes(routes: readonly Route[]): string {
  const by = (method: string) =>
    routes
      .filter((r) => r.method === method)
      .map((r) => r.path)
      .join(", ");
  return ["GET", "POST"]
    .map((m) => [m, by(m)] as const)
    .filter(([, paths]) => paths !== "")
    .map(([m, paths]) => `${m} ${paths}`)
    .join("; ");
}

/** Finds the route for a request: 404 when no path matches, 405 (with Allow) when only the method is wrong. */
export function resolve(
  routes: readonly Route[],
  method: string,
  pathname: string,
): { route: Route; params: Record<string, string> } {
  const allowed: string[] = [];
  for (const route of routes) {
    const params = match(route.path, pathname);
    if (!params) continue;
    if (route.method === method || (method === "HEAD" && route.method === "GET")) return { route, params };
    allowed.push(route.method);
  }
  if (allowed.length > 0) {
    throw new HttpError(
      405,
      "METHOD_NOT_ALLOWED",
      `${method} is not allowed on ${pathname}; use ${allowed.join(" or ")}`,
      { allow: allowed.join(", ") },
    );
  }
  throw new HttpError(404, "NOT_FOUND", `no route ${method} ${pathname}; routes: ${describeRoutes(routes)}`);
}
