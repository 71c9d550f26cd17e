import type { Command } from "commander";
import { parsePositiveInt } from "../options.ts";

export function registerLabRelay(program: Command): void {
  program
    .command("lab-relay")
    .description(
      "Run in front of a jailed Lab on a swarm node (as root, on the node's network): rebuild its workspace and socket folder from the Supervisor's gateway (LOOM_RELAY_URL, LOOM_RELAY_TOKEN), run the command after --, then push lab/gen-N and the report back.",
    )
    .option("--workspace <dir>", "where the Lab's workspace is cloned", "/workspace")
    .option("--sockets <dir>", "the socket folder the Lab sees", "/run/loom")
    .option("--cache <dir>", "where packages are kept per key on this node", "/var/cache/loom-packages")
    .requiredOption("--uid <n>", "the Lab's user id", parsePositiveInt("--uid", 0, 2 ** 31 - 1))
    .requiredOption("--gid <n>", "the Lab's group id", parsePositiveInt("--gid", 0, 2 ** 31 - 1))
    .argument("<command...>", "what to run (the jail, then the Lab), after --")
    .action(
      async (
        command: string[],
        opts: { workspace: string; sockets: string; cache: string; uid: number; gid: number },
      ) => {
        const url = process.env.LOOM_RELAY_URL ?? "";
        const token = process.env.LOOM_RELAY_TOKEN ?? "";
        if (!/^http:\/\/[^/]+$/.test(url) || !/^[0-9a-f]{64}$/.test(token)) {
          process.stderr.write(
            `lab-relay: LOOM_RELAY_URL must be http://HOST:PORT (got ${JSON.stringify(url)}) and LOOM_RELAY_TOKEN 64 hex digits (${token.length} characters given)\n`,
          );
          process.exitCode = 2;
          return;
        }
        const { runRelay } = await import("../../lab/relay.ts");
        process.exitCode = await runRelay({
          url,
          token,
          ...opts,
          command,
          log: (line) => process.stderr.write(`${line}\n`),
        });
      },
    );
}
