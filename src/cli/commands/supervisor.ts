import type { Command } from "commander";
import { parsePositiveInt } from "../options.ts";

export function registerSupervisor(program: Command): void {
  program
    .command("supervisor")
    .description(
      "Run the Supervisor: HTTP on LOOM_SUPERVISOR_PORT (GET / /logs /stats /generations, POST /spawn /promote /rollback). On start it finishes or undoes any promotion, rollback or revert an earlier run was killed in (from its journal, <state>/intents), reaps Labs, Primes and workspaces it left and marks their generations aborted, then starts Prime on main (LOOM_PRIME_PORT) and restarts it after every promotion, reverting a promotion whose Prime fails its health check. SIGTERM/SIGINT let a promotion in flight finish (LOOM_SHUTDOWN_GRACE_MS) before it stops.",
    )
    .option("--port <n>", "port (default LOOM_SUPERVISOR_PORT, 8400)", parsePositiveInt("--port", 0, 65535))
    .option(
      "--host <addr>",
      "address to bind (default LOOM_BIND_HOST); off loopback needs LOOM_SUPERVISOR_TOKEN",
    )
    .option("--image <name>", "Lab image for docker/podman/apple", "loom-lab:latest")
    .option("--no-prime", "do not start Prime (the HTTP API alone)")
    .action(async (opts: { port?: number; host?: string; image: string; prime: boolean }) => {
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
        ...(opts.prime ? { prime: {} } : {}),
        ...(opts.port !== undefined ? { port: opts.port } : {}),
        ...(opts.host !== undefined ? { host: opts.host } : {}),
        onEvent: (e) => {
          const gen = "generation" in e && e.generation !== null ? `gen-${e.generation} ` : "";
          const text =
            e.type === "generation"
              ? `${e.outcome}${e.reason ? `: ${e.reason}` : ""}`
              : e.type === "lab_status"
                ? `lab ${e.status}: ${e.progress}`
                : e.type === "prime"
                  ? `prime ${e.state}: ${e.message}`
                  : e.type === "lab_tool"
                    ? `lab tool ${e.tool} ×${e.calls}${e.errors ? ` (${e.errors} failed)` : ""}`
                    : e.message;
          log(`${e.at} ${gen}${text}`);
        },
      });
      process.stdout.write(
        `supervisor: listening on ${supervisor.url} (runtime ${supervisor.runtime.name})\n`,
      );
      const prime = supervisor.prime?.status();
      if (prime)
        process.stdout.write(`supervisor: prime ${prime.state}${prime.url ? ` at ${prime.url}` : ""}\n`);
      // `on`, not `once`, and kept until the end: with no listener of ours left, signal-exit (execa's,
      // loaded while a git or engine command runs) re-raises the signal and the process dies
      // mid-promotion (exit 143) instead of shutting down. A second signal is only noted.
      let stopping = false;
      let stopped: () => void = () => {};
      const asked = new Promise<void>((resolve) => {
        stopped = resolve;
      });
      const onSignal = (signal: NodeJS.Signals) => {
        if (stopping) {
          log(
            `supervisor: ${signal} again; still shutting down (a promotion in flight gets LOOM_SHUTDOWN_GRACE_MS)`,
          );
          return;
        }
        stopping = true;
        stopped();
      };
      process.on("SIGTERM", onSignal);
      process.on("SIGINT", onSignal);
      await asked;
      log(
        "supervisor: shutting down (waiting for a promotion in flight, then stopping Prime and any running Lab)",
      );
      try {
        await supervisor.close();
      } finally {
        process.off("SIGTERM", onSignal);
        process.off("SIGINT", onSignal);
      }
      // Bounded: a promotion that outlasted the grace must not keep the process alive; its git step
      // finishes on its own and the journal settles the rest on the next start.
      setTimeout(() => process.exit(), 200).unref();
    });
}
