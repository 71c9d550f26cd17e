import { type Command, InvalidArgumentError } from "commander";
import { parsePositiveInt } from "../options.ts";

/** `--supervisor <url>`: an http(s) URL, refused at parse time (exit 2) otherwise. */
export function parseSupervisorUrl(value: string): string {
  const ok = URL.canParse(value) && ["http:", "https:"].includes(new URL(value).protocol);
  if (!ok) {
    throw new InvalidArgumentError(
      `--supervisor must be an http:// or https:// URL, e.g. http://127.0.0.1:8400 (got "${value}").`,
    );
  }
  return value;
}

export function registerPrime(program: Command): void {
  program
    .command("prime")
    .description(
      "Run Prime: HTTP on LOOM_PRIME_PORT (GET / chat page, /logs, /stats, /health, /chat; POST /chat), its tools driving the Supervisor at LOOM_SUPERVISOR_URL. Resumes an autonomous run that was in progress. What the Supervisor launches.",
    )
    .option("--port <n>", "port (default LOOM_PRIME_PORT, 8401)", parsePositiveInt("--port", 0, 65535))
    .option(
      "--host <addr>",
      "address to bind (default LOOM_BIND_HOST); off loopback, chatting needs LOOM_SUPERVISOR_TOKEN",
    )
    .option("--repo <dir>", "repository Prime reads (default LOOM_REPO_PATH)")
    .option(
      "--state <dir>",
      "Prime's state folder: chat.jsonl, program.md, autonomous state (default LOOM_STATE_DIR)",
    )
    .option("--supervisor <url>", "the Supervisor's URL (default LOOM_SUPERVISOR_URL)", parseSupervisorUrl)
    .action(
      async (opts: { port?: number; host?: string; repo?: string; state?: string; supervisor?: string }) => {
        const [{ loadConfig }, { startPrime, primePlace }, { primeThinking }, { chatClosedWarning }] =
          await Promise.all([
            import("../../shared/config.ts"),
            import("../../prime/start-prime.ts"),
            import("../../prime/thinking.ts"),
            import("../../prime/server/server.ts"),
          ]);
        const config = loadConfig();
        for (const w of config.warnings) process.stderr.write(`loom: warning: ${w}\n`);
        const host = opts.host ?? config.bindHost;
        const closed = chatClosedWarning(host, config.supervisorToken);
        const log = (line: string) => process.stderr.write(`${line}\n`);
        const prime = await startPrime({
          config,
          place: primePlace(config, opts),
          thinking: primeThinking,
          host,
          port: opts.port ?? config.primePort,
          log,
        });
        if (closed) log(closed);
        process.stdout.write(
          `prime: listening on ${prime.url} (supervisor ${prime.core.place.supervisorUrl})\n`,
        );
        await new Promise<void>((resolve) => {
          const stop = () => resolve();
          process.on("SIGTERM", stop);
          process.on("SIGINT", stop);
        });
        log("prime: shutting down");
        await prime.close();
      },
    );
}
