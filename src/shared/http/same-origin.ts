import type { IncomingMessage } from "node:http";
import { isIP } from "node:net";
import { HttpError } from "./http-error.ts";

/** Where a server listens, as `server.address()` and the bind option give it. */
export interface ServedAddress {
  /** The address it was asked to bind (may be a name such as localhost). */
  readonly bindHost: string;
  /** The address it listens on, as the socket reports it. */
  readonly address: string;
  readonly port: number;
}

const bare = (host: string): string => host.replace(/^\[|\]$/g, "").toLowerCase();
const LOOPBACK_NAMES = ["localhost", "127.0.0.1", "::1"];

function isLoopbackAddress(host: string): boolean {
  const h = bare(host);
  return h === "localhost" || h === "::1" || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(h);
}

/** Splits a Host header into name and port ("[::1]:80" → ["::1", 80]); undefined when malformed. */
export function parseHostHeader(value: string): { name: string; port: number } | undefined {
  const m = /^(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9._-]+)(?::(\d{1,5}))?$/.exec(value.trim());
  if (!m) return undefined;
  const port = m[2] === undefined ? 80 : Number(m[2]);
  return port > 65535 ? undefined : { name: bare(m[1] as string), port };
}

/**
 * The Host names this server answers to. A loopback bind answers to its own address and to localhost,
 * 127.0.0.1 and [::1]; a wildcard bind (0.0.0.0, ::) to localhost and any IP literal (a DNS-rebinding
 * page always arrives under a name, never an address); any other bind to its own address only.
 */
export function hostAllowed(served: ServedAddress, hostHeader: string): boolean {
  const host = parseHostHeader(hostHeader);
  if (!host || host.port !== served.port) return false;
  const own = [bare(served.bindHost), bare(served.address)];
  if (own.includes(host.name)) return true;
  if (own.some(isLoopbackAddress)) return LOOPBACK_NAMES.includes(host.name);
  if (own.some((a) => a === "0.0.0.0" || a === "::"))
    return host.name === "localhost" || isIP(host.name) !== 0;
  return false;
}

function describeServed(served: ServedAddress): string {
  const shown = served.address.includes(":") ? `[${served.address}]` : served.address;
  const names = isLoopbackAddress(served.address) ? ` (or localhost:${served.port})` : "";
  return `${shown}:${served.port}${names}`;
}

/**
 * Refuses what a browser page of another origin could send (403, with the reason):
 * - a Host that is not an address this server serves: a page on a name that resolves here (DNS
 *   rebinding) would otherwise be "same-origin" with it and could read every answer;
 * - an Origin other than the server's own (`http://` + Host), `null` included;
 * - `Sec-Fetch-Site: cross-site` or `same-site` (another port on this host is another site's server,
 *   a Lab's page for instance), except a top-level GET navigation: the page is shown to the person, the
 *   linking page reads nothing, and links into the dashboard keep working.
 * Programs (curl, fetch in Node, the SDK) send neither Origin nor Sec-Fetch-*, only a Host, and pass.
 */
export function checkSameOrigin(req: IncomingMessage, served: ServedAddress, name: string): void {
  const host = req.headers.host;
  if (host === undefined || host === "") {
    throw new HttpError(
      403,
      "HOST_NOT_ALLOWED",
      `the request has no Host header; ${name} answers only requests to ${describeServed(served)}`,
    );
  }
  if (!hostAllowed(served, host)) {
    throw new HttpError(
      403,
      "HOST_NOT_ALLOWED",
      `Host ${JSON.stringify(host)} is not an address ${name} serves; send requests to ${describeServed(served)} (a name that merely resolves here is refused: DNS rebinding)`,
    );
  }
  const origin = req.headers.origin;
  const own = `http://${host.toLowerCase()}`;
  if (origin !== undefined && origin.toLowerCase() !== own) {
    throw new HttpError(
      403,
      "CROSS_ORIGIN",
      `Origin ${JSON.stringify(origin)} is not ${name}'s own (${own}); it takes requests only from its own pages and from programs that send no Origin`,
    );
  }
  const site = req.headers["sec-fetch-site"];
  if (site === "cross-site" || site === "same-site") {
    const navigation =
      (req.method === "GET" || req.method === "HEAD") &&
      req.headers["sec-fetch-mode"] === "navigate" &&
      req.headers["sec-fetch-dest"] === "document";
    if (!navigation) {
      throw new HttpError(
        403,
        "CROSS_ORIGIN",
        `Sec-Fetch-Site: ${site}: a page of another origin sent this request; ${name} takes requests only from its own pages (${own}) and from programs`,
      );
    }
  }
}
