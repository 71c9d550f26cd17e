import type { Command } from "commander";
import { parsePositiveInt } from "../options.ts";

export function registerSupervisor(program: Command): void {
  program
    .command("supervisor")
    .description(
      "Run the Supervisor: HTTP on LOOM_SUPERVISOR_PORT (GET / /logs /stats /generations, POST /spawn /promote /rollback). On start it reaps Labs and workspaces an earlier run left and marks their generations aborted.",
    )
    .option("--port <n>", "port (default LOOM_SUPERVISOR_PORT, 8400)", parsePositiveInt("--port", 0, 65535))
    .option(
      "--host <addr>",
      "address to bind (default LOOM_BIND_HOST); off loopback needs LOOM_SUPERVISOR_TOKEN",
    )
    .option("--image <name>", "Lab image for docker/podman/apple", "loom-lab:latest")
    .action(async (opts: { port?: number; host?: string; image: string }) => {
      const [{ loadConfig }, { startSupervisor }, { assertBindAllowed }] = await Promise.all([
        import("../../shared/config.ts"),
        import("../../supervisor/supervisor.ts"),
        import("../../supervisor/server/server.ts"),
      ]);
      const config = loadConfig();
      for (const w of config.warnings) process.stderr.write(`loom: warning: ${w}\n`);
      // Checked before the runtime is probed, so the refusal is the one line the user sees.
      assertBindAllowed(opts.host ?? config.bindHost, config.supervisorToken);
      const log = (line: string) => process.stderr.write(`${line}\n`);
      const supervisor = await startSupervisor({
        config,
        log,
        image: opts.image,
        ...(opts.port !== undefined ? { port: opts.port } : {}),
        ...(opts.host !== undefined ? { host: opts.host } : {}),
        onEvent: (e) => {
          const gen = "generation" in e && e.generation !== null ? `gen-${e.generation} ` : "";
          const text =
            e.type === "generation"
              ? `${e.outcome}${e.reason ? `: ${e.reason}` : ""}`
              : e.type === "lab_status"
                ? `lab ${e.status}: ${e.progress}`
                : e.type === "lab_tool"
                  ? `lab tool ${e.tool} ×${e.calls}${e.errors ? ` (${e.errors} failed)` : ""}`
                  : e.message;
          log(`${e.at} ${gen}${text}`);
        },
      });
      process.stdout.write(
        `supervisor: listening on ${supervisor.url} (runtime ${supervisor.runtime.name})\n`,
      );
      await new Promise<void>((resolve) => {
        const stop = () => resolve();
        process.once("SIGTERM", stop);
        process.once("SIGINT", stop);
      });
      log("supervisor: shutting down (stopping any running Lab)");
      await supervisor.close();
    });
}
