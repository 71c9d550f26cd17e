import { chmod, lstat, mkdir, rm } from "node:fs/promises";
import type { Server } from "node:http";
import path from "node:path";
import { listen } from "../../shared/net/listen.ts";
import { ModelProxyError } from "./proxy-error.ts";

/** sun_path holds 108 bytes on Linux (104 on macOS), including the terminating NUL. */
const MAX_SOCKET_PATH_BYTES = 103;

/**
 * Listens on a unix socket: the folder is made if missing, a stale socket from a crashed run is
 * replaced (anything else at the path is refused), and the socket gets `mode` before it is used.
 */
export async function listenOnSocket(server: Server, socketPath: string, mode: number): Promise<void> {
  if (!path.isAbsolute(socketPath))
    throw new ModelProxyError(
      "MODEL_PROXY_SOCKET",
      `socket path ${socketPath} is not absolute; give an absolute path`,
    );
  if (Buffer.byteLength(socketPath) > MAX_SOCKET_PATH_BYTES)
    throw new ModelProxyError(
      "MODEL_PROXY_SOCKET",
      `socket path ${socketPath} is ${Buffer.byteLength(socketPath)} bytes; unix sockets allow at most ${MAX_SOCKET_PATH_BYTES}`,
    );
  await mkdir(path.dirname(socketPath), { recursive: true, mode: 0o700 });
  const existing = await lstat(socketPath).catch(() => undefined);
  if (existing) {
    if (!existing.isSocket())
      throw new ModelProxyError(
        "MODEL_PROXY_SOCKET",
        `${socketPath} exists and is not a socket; the model proxy will not replace it`,
      );
    await rm(socketPath, { force: true });
  }
  await listen(server, socketPath);
  await chmod(socketPath, mode);
}

export async function listenLoopback(server: Server, port: number): Promise<void> {
  await listen(server, port, "127.0.0.1");
}

/** Stops listening, cuts open connections and removes the socket file. */
export async function closeServer(server: Server, socketPath: string): Promise<void> {
  if (server.listening) {
    const closed = new Promise<void>((resolve) => server.close(() => resolve()));
    server.closeAllConnections();
    await closed;
  }
  // Node unlinks a socket it listened on when closing; a failed listen may have left one behind.
  const left = await lstat(socketPath).catch(() => undefined);
  if (left?.isSocket()) await rm(socketPath, { force: true });
}
