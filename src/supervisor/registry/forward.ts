import { rm } from "node:fs/promises";
import net from "node:net";

/**
 * A byte-for-byte connection forwarder between a TCP address and a unix socket (either way round).
 * Unix sockets live on the filesystem, which network namespaces share: a node engine in a namespace of
 * its own reaches Loom's registry at the same 127.0.0.1:PORT as the host through
 * [ns] 127.0.0.1:PORT → registry.sock → [host] 127.0.0.1:PORT, so one digest reference serves every node
 * and no address outside loopback is used.
 */

/** `127.0.0.1:5000` (TCP) or an absolute path (a unix socket). */
export type Endpoint = { readonly host: string; readonly port: number } | { readonly path: string };

export function parseEndpoint(text: string): Endpoint | undefined {
  if (text.startsWith("/")) return { path: text };
  const m = /^(127\.\d{1,3}\.\d{1,3}\.\d{1,3}):(\d{1,5})$/.exec(text);
  if (!m) return undefined;
  const port = Number(m[2]);
  return port >= 1 && port <= 65535 ? { host: m[1] as string, port } : undefined;
}

export function showEndpoint(e: Endpoint): string {
  return "path" in e ? e.path : `${e.host}:${e.port}`;
}

export interface Forwarder {
  readonly listen: Endpoint;
  /** Stops listening and ends every forwarded connection. */
  close(): Promise<void>;
}

export async function forwardConnections(listen: Endpoint, target: Endpoint): Promise<Forwarder> {
  const open = new Set<net.Socket>();
  const server = net.createServer((inbound) => {
    const outbound = net.connect(target);
    for (const s of [inbound, outbound]) {
      open.add(s);
      s.on("close", () => open.delete(s));
      s.on("error", () => {
        inbound.destroy();
        outbound.destroy();
      });
    }
    inbound.pipe(outbound).pipe(inbound);
  });
  if ("path" in listen) await rm(listen.path, { force: true });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    if ("path" in listen) server.listen(listen.path, resolve);
    else server.listen(listen.port, listen.host, resolve);
  });
  return {
    listen,
    close: async () => {
      for (const s of open) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      if ("path" in listen) await rm(listen.path, { force: true });
    },
  };
}
