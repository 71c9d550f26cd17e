import net from "node:net";

/**
 * A port nothing listens on right now, skipping ones already handed out: Labs on the host network
 * share its ports, so two must never get the same one.
 */
export async function freePort(taken: ReadonlySet<number> = new Set()): Promise<number> {
  for (let attempt = 0; attempt < 20; attempt++) {
    const port = await new Promise<number>((resolve, reject) => {
      const server = net.createServer();
      server.once("error", reject);
      server.listen(0, "127.0.0.1", () => {
        const address = server.address();
        server.close(() => resolve(typeof address === "object" && address ? address.port : 0));
      });
    });
    if (port > 0 && !taken.has(port)) return port;
  }
  throw new Error("no free port found on 127.0.0.1 after 20 attempts");
}
