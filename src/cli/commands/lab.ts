import type { Command } from "commander";
import { parsePositiveInt } from "../options.ts";

export function registerLab(program: Command): void {
  program
    .command("lab")
    .description(
      "Run a Lab: serve GET /status and POST /eval, carry out the workspace's program.md with the Lab tools, commit to lab/gen-N and write .loom/report.json. What a Lab container runs; the server stays up until SIGTERM unless --exit.",
    )
    .option("--workspace <dir>", "the Lab's git workspace (with program.md)", ".")
    .option(
      "--generation <n>",
      "generation number N (branch lab/gen-N)",
      parsePositiveInt("--generation", 1, 1_000_000),
    )
    .option("--port <n>", "port (default: $PORT, else LOOM_LAB_PORT)", parsePositiveInt("--port", 0, 65535))
    .option("--host <addr>", "address to bind (default LOOM_BIND_HOST)")
    .option(
      "--socket <path>",
      "also serve through this unix socket (a Lab without network: the Supervisor's way in)",
    )
    .option(
      "--secrets <file>",
      'JSON file {"apiKey", "labToken"} the Supervisor wrote; read and deleted at start, so no secret is in the environment',
    )
    .option("--exit", "exit when the worker finishes instead of serving until SIGTERM")
    .action(
      async (opts: {
        workspace: string;
        generation?: number;
        port?: number;
        host?: string;
        socket?: string;
        secrets?: string;
        exit?: boolean;
      }) => {
        const [{ resolve }, { loadConfig }, { runLab }, { formatEvent }] = await Promise.all([
          import("node:path"),
          import("../../shared/config.ts"),
          import("../../lab/run-lab.ts"),
          import("../print-events.ts"),
        ]);
        const config = loadConfig();
        const envPort = process.env.PORT ? Number(process.env.PORT) : undefined;
        const abort = new AbortController();
        const lab = await runLab({
          workspace: resolve(opts.workspace),
          generation: opts.generation ?? null,
          config,
          port: opts.port ?? (Number.isInteger(envPort) ? (envPort as number) : config.labPort),
          host: opts.host ?? config.bindHost,
          ...(opts.socket ? { socketPath: resolve(opts.socket) } : {}),
          ...(opts.secrets ? { secretsFile: resolve(opts.secrets) } : {}),
          signal: abort.signal,
          emit: (e) => process.stdout.write(`${formatEvent(e)}\n`),
          log: (l) => process.stderr.write(`${l}\n`),
        });
        const stop = () => {
          abort.abort();
          void lab.done.finally(() => lab.server.close().finally(() => process.exit(0)));
        };
        process.on("SIGTERM", stop);
        process.on("SIGINT", stop);
        const report = await lab.done;
        process.stderr.write(
          `lab: ${lab.tracker.snapshot().status}${report?.commit ? ` at ${report.commit}` : ""}\n`,
        );
        if (opts.exit) {
          await lab.server.close();
          process.exitCode = report?.status === "done" ? 0 : 1;
        }
      },
    );
}
