import { connect, createServer, type Socket } from "node:net";
import { listenForSupervisor } from "./listen-socket.ts";

/**
 * The Lab's way in without a network: a unix socket in the folder the Supervisor mounted, each
 * connection piped to the Lab's server on its own loopback (inside the Lab's private network
 * namespace). The server itself keeps its TCP address, so its Host and Origin rules apply unchanged.
 */
export interface SocketBridge {
  close(): Promise<void>;
}

export async function bridgeSocket(socketPath: string, port: number, host: string): Promise<SocketBridge> {
  const open = new Set<Socket>();
  const server = createServer((conn) => {
    const upstream = connect(port, host);
    open.add(conn);
    open.add(upstream);
    const end = () => {
      conn.destroy();
      upstream.destroy();
      open.delete(conn);
      open.delete(upstream);
    };
    conn.on("error", end).on("close", end);
    upstream.on("error", end).on("close", end);
    conn.pipe(upstream).pipe(conn);
  });
  await listenForSupervisor(server, socketPath);
  return {
    close: async () => {
      for (const s of open) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
