// What a Lab container runs (bundled to dist/lab.mjs): only the Lab's commands, so nothing that spawns,
// verifies or promotes generations is reachable from here.
import { registerLab } from "../cli/commands/lab.ts";
import { registerLabRelay } from "../cli/commands/lab-relay.ts";
import { registerLabServer } from "../cli/commands/lab-server.ts";
import { registerLabStandby } from "../cli/commands/lab-standby.ts";
import { registerTool } from "../cli/commands/tool.ts";
import { runCli } from "../cli/program.ts";

const LAB_COMMANDS = [registerLab, registerLabStandby, registerLabServer, registerLabRelay, registerTool];

process.exitCode = await runCli(process.argv.slice(2), LAB_COMMANDS);
