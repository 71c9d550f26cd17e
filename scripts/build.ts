// `npm run build`: bundles each Loom process into dist/ and refuses a Lab bundle that could self-modify.
import { join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { parseArgs } from "node:util";
import { execa } from "execa";
import { buildBundles } from "../src/build/bundles.ts";
import { bundleProblems } from "../src/build/reachability.ts";
import { LoomError } from "../src/shared/errors.ts";

export { BUNDLES, type BuiltBundle, buildBundles, LOOM_ROOT } from "../src/build/bundles.ts";
export {
  bundleProblems,
  runtimeFileImports,
  SELF_MODIFY_PATH,
  selfModifyInputs,
} from "../src/build/reachability.ts";

const kb = (bytes: number) => `${(bytes / 1024).toFixed(1)} KB`;

async function run(argv: string[]): Promise<number> {
  let outdir: string;
  try {
    const { values } = parseArgs({
      args: argv,
      options: { outdir: { type: "string", default: "dist" } },
      strict: true,
    });
    outdir = values.outdir;
  } catch (err) {
    process.stderr.write(`build: ${(err as Error).message}; accepted: --outdir <dir> (default dist)\n`);
    return 2;
  }
  const started = performance.now();
  try {
    const bundles = await buildBundles({ outdir });
    for (const b of bundles) {
      for (const w of b.warnings) process.stderr.write(`build: warning: ${b.name}: ${w}\n`);
      process.stdout.write(
        `${b.name.padEnd(12)} ${kb(b.bytes).padStart(9)} ${`${Math.round(b.ms)} ms`.padStart(8)}  ${b.file}\n`,
      );
    }
    process.stdout.write(
      `built ${bundles.length} bundles in ${Math.round(performance.now() - started)} ms\n`,
    );
    const problems = bundles.flatMap((b) => bundleProblems(b.name, b.metafile));
    for (const p of problems) process.stderr.write(`build: ${p}\n`);
    if (problems.length > 0) return 1;
    // The Lab's TypeScript thread reads ts-morph's compiled code from here (only a speed-up: a failure warns).
    const recorded = await execa(
      process.execPath,
      [
        "--import",
        "tsx",
        fileURLToPath(new URL("./record-compile-cache.ts", import.meta.url)),
        join(outdir, "compile-cache"),
      ],
      { reject: false, all: true },
    );
    process.stdout.write(recorded.exitCode === 0 ? recorded.stdout : "");
    if (recorded.exitCode !== 0) process.stderr.write(`build: warning: no compile cache: ${recorded.all}\n`);
    return 0;
  } catch (err) {
    process.stderr.write(`build: ${err instanceof LoomError ? err.message : String(err)}\n`);
    return 1;
  }
}

// Imported by tests for the exports above; only a direct run builds.
if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  process.exitCode = await run(process.argv.slice(2));
}
