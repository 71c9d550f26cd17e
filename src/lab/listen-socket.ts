import { chmod, rm } from "node:fs/promises";
import type { Server } from "node:net";
import { listen } from "../shared/net/listen.ts";

/**
 * Listens on a unix socket in the folder the Supervisor mounted into the Lab: one an earlier process
 * left there is replaced (listen would fail on it), and the socket is opened to every user, as the
 * Supervisor may run as another user than the image's.
 */
export async function listenForSupervisor(server: Server, socketPath: string): Promise<void> {
  await rm(socketPath, { force: true });
  await listen(server, socketPath);
  await chmod(socketPath, 0o666);
}
