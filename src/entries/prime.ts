// The Prime agent process (bundled to dist/prime.mjs); runs the full CLI until it has its own commands.
import { main } from "../cli/main.ts";

process.exitCode = await main(process.argv.slice(2));
