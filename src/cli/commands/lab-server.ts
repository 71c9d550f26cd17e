import type { Command } from "commander";
import { parsePositiveInt } from "../options.ts";

export function registerLabServer(program: Command): void {
  program
    .command("lab-server")
    .description(
      "Start a Lab's HTTP server (GET /status, POST /eval) on a workspace, outside any container. Evaluates the workspace's current TypeScript source; no agent runs. With LOOM_LAB_TOKEN set, every request needs Authorization: Bearer <token>.",
    )
    .option("--workspace <dir>", "workspace whose modules /eval may import", ".")
    .option("--port <n>", "port to listen on (default: $PORT or 8402)", parsePositiveInt("--port", 1, 65535))
    .option("--host <addr>", "address to bind", "127.0.0.1")
    .action(async (opts: { workspace: string; port?: number; host: string }) => {
      const { resolve } = await import("node:path");
      const { startLabServer } = await import("../../../lab-runtime/server.ts");
      const server = await startLabServer({
        workspace: resolve(opts.workspace),
        host: opts.host,
        ...(opts.port !== undefined ? { port: opts.port } : {}),
        status: () => ({ status: "running", progress: "idle: eval server only, no agent", error: null }),
      });
      process.stderr.write(
        `loom lab-server: listening on ${server.url} (workspace ${resolve(opts.workspace)})\n`,
      );
      const stop = () => void server.close().finally(() => process.exit(0));
      process.on("SIGINT", stop);
      process.on("SIGTERM", stop);
    });
}
