import type { Server } from "node:net";

/**
 * Starts `server` listening on a unix socket path, or a port on an address; resolves once it listens,
 * rejects with listen's error (EADDRINUSE, EACCES, …) without leaving a handler behind.
 */
export function listen(server: Server, socketPath: string): Promise<void>;
export function listen(server: Server, port: number, host: string): Promise<void>;
export function listen(server: Server, where: string | number, host?: string): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    const done = () => {
      server.off("error", reject);
      resolve();
    };
    if (typeof where === "string") server.listen(where, done);
    else server.listen(where, host, done);
  });
}
