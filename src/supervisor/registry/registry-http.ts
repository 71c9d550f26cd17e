import { errorMessage } from "../../shared/errors.ts";

/**
 * The two calls of the registry HTTP API Loom needs: `GET /v2/` (is a registry there?) and
 * `HEAD /v2/<repo>/manifests/<ref>` (which digest does it hold?). Loopback registries speak http, as
 * docker itself allows for 127.0.0.0/8 without configuration; any other address is tried over https first.
 */

const MANIFEST_TYPES = [
  "application/vnd.docker.distribution.manifest.v2+json",
  "application/vnd.docker.distribution.manifest.list.v2+json",
  "application/vnd.oci.image.manifest.v1+json",
  "application/vnd.oci.image.index.v1+json",
].join(", ");

export function isLoopbackRegistry(address: string): boolean {
  const host = address.replace(/:\d+$/, "");
  return /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(host) || host === "localhost" || host === "[::1]";
}

function baseUrls(address: string): string[] {
  return isLoopbackRegistry(address) ? [`http://${address}`] : [`https://${address}`, `http://${address}`];
}

export type Probe =
  | { readonly ok: true; readonly url: string }
  | { readonly ok: false; readonly why: string };

/** Whether a registry answers `GET /v2/` (200, or 401 from one that wants a login). */
export async function probeRegistry(address: string, timeoutMs = 3000): Promise<Probe> {
  const whys: string[] = [];
  for (const base of baseUrls(address)) {
    try {
      const res = await fetch(`${base}/v2/`, { signal: AbortSignal.timeout(timeoutMs) });
      await res.body?.cancel();
      if (res.status === 200 || res.status === 401) return { ok: true, url: base };
      whys.push(`GET ${base}/v2/ answered ${res.status}`);
    } catch (err) {
      whys.push(`GET ${base}/v2/: ${describeFetchError(err)}`);
    }
  }
  return { ok: false, why: whys.join("; ") };
}

/** The digest the registry holds for `repository:ref` (a tag or a digest), or undefined when it has none. */
export async function manifestDigest(
  baseUrl: string,
  repository: string,
  ref: string,
  timeoutMs = 10_000,
): Promise<string | undefined> {
  const res = await fetch(`${baseUrl}/v2/${repository}/manifests/${ref}`, {
    method: "HEAD",
    headers: { accept: MANIFEST_TYPES },
    signal: AbortSignal.timeout(timeoutMs),
  });
  await res.body?.cancel();
  if (res.status === 404) return undefined;
  if (res.status !== 200)
    throw new Error(`HEAD ${baseUrl}/v2/${repository}/manifests/${ref} answered ${res.status}`);
  return res.headers.get("docker-content-digest") ?? undefined;
}

function describeFetchError(err: unknown): string {
  if (err instanceof Error && err.name === "TimeoutError") return "no answer in time";
  const cause = (err as { cause?: { code?: string; message?: string } }).cause;
  return cause?.code ?? cause?.message ?? errorMessage(err);
}
