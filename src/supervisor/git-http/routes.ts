/** What a request asks of the repository: the smart HTTP protocol's three calls, nothing else. */
export type Service = "git-upload-pack" | "git-receive-pack";

export type GitCall =
  | { readonly kind: "advertise"; readonly pathInfo: "/info/refs" }
  | { readonly kind: "rpc"; readonly service: Service; readonly pathInfo: `/${Service}` };

/** The repository's path on the endpoint: `<url>` is `http://host:port/loom.git`. */
export const REPO_PATH = "/loom.git";

const CALLS: Readonly<Record<string, { method: "GET" | "POST"; call: GitCall }>> = {
  [`${REPO_PATH}/info/refs`]: { method: "GET", call: { kind: "advertise", pathInfo: "/info/refs" } },
  [`${REPO_PATH}/git-upload-pack`]: {
    method: "POST",
    call: { kind: "rpc", service: "git-upload-pack", pathInfo: "/git-upload-pack" },
  },
  [`${REPO_PATH}/git-receive-pack`]: {
    method: "POST",
    call: { kind: "rpc", service: "git-receive-pack", pathInfo: "/git-receive-pack" },
  },
};

export type Routed =
  | { readonly kind: "call"; readonly call: GitCall }
  | { readonly kind: "not_found" }
  | { readonly kind: "wrong_method"; readonly allow: "GET" | "POST" };

/**
 * Maps a request to a git call. The dumb protocol's paths (objects/, HEAD) are not served: they would
 * hand out any file of the repository, reachable or not.
 */
export function route(method: string | undefined, pathname: string): Routed {
  const entry = Object.hasOwn(CALLS, pathname) ? CALLS[pathname] : undefined;
  if (!entry) return { kind: "not_found" };
  if (method !== entry.method) return { kind: "wrong_method", allow: entry.method };
  return { kind: "call", call: entry.call };
}

export const isService = (s: string | null): s is Service =>
  s === "git-upload-pack" || s === "git-receive-pack";
