import { readFile, rm } from "node:fs/promises";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { execa } from "execa";
import { runGit, tryGit } from "../../src/shared/git/run-git.ts";
import { fileOf, GATE_MODULES, type GateModule } from "./gate-modules.ts";
import { MutationSetupError, preflight } from "./preflight.ts";
import { belowFloors, type ModuleScore, type MutationReport, scoresOf } from "./scores.ts";

/**
 * `npm run mutation [-- --module <file>...] [--force]`: StrykerJS over the gate's modules.
 * `npm run mutation:changed [-- --base <ref>]`: only the gate modules whose code or tests differ from
 * `<ref>` (default GATE_MUTATION_BASE, else HEAD~1), uncommitted changes included, within 5 minutes.
 * Exit 0 when every mutated module is at or above its floor (floors.json; 90 % without one), 1 when
 * one is below or the time bound is hit, 2 when the run cannot start.
 */
const ROOT = fileURLToPath(new URL("../..", import.meta.url));
const TARGET = 90;

interface Args {
  changed: boolean;
  base: string | undefined;
  modules: string[];
  force: boolean;
  maxMinutes: number | undefined;
}

function parseArgs(argv: readonly string[]): Args {
  const args: Args = { changed: false, base: undefined, modules: [], force: false, maxMinutes: undefined };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const value = (): string => {
      const v = argv[++i];
      if (v === undefined || v.startsWith("--")) throw new MutationSetupError(`${a} needs a value`);
      return v;
    };
    if (a === "--changed") args.changed = true;
    else if (a === "--force") args.force = true;
    else if (a === "--base") args.base = value();
    else if (a === "--module") args.modules.push(value());
    else if (a === "--max-minutes") {
      const n = Number(value());
      if (!(n > 0)) throw new MutationSetupError("--max-minutes takes a positive number");
      args.maxMinutes = n;
    } else {
      throw new MutationSetupError(
        `unknown argument ${JSON.stringify(a)}; accepted: --changed, --base <ref>, --module <file>, --force, --max-minutes <n>`,
      );
    }
  }
  return args;
}

/** Files that differ from `base` in commits or in the working tree. */
async function changedFiles(base: string): Promise<Set<string>> {
  const known = await tryGit(ROOT, ["rev-parse", "--verify", "--quiet", `${base}^{commit}`]);
  if (known.exitCode !== 0) {
    throw new MutationSetupError(
      `the base ${base} is not a commit in this clone (a shallow clone?), so the changed gate files are unknown; ` +
        "fetch more history or name the base with --base <ref> or GATE_MUTATION_BASE",
    );
  }
  // A git that fails here must stop the run: an empty list would pass the gate's check untested.
  const changed = await runGit(ROOT, ["diff", "--name-only", base, "--"]);
  const untracked = await runGit(ROOT, ["ls-files", "--others", "--exclude-standard"]);
  return new Set(`${changed}\n${untracked}`.split("\n").filter(Boolean));
}

async function chooseModules(args: Args): Promise<GateModule[]> {
  if (args.modules.length > 0) {
    return args.modules.map((want) => {
      const found = GATE_MODULES.find((m) => fileOf(m.mutate) === want || m.mutate === want);
      if (!found) {
        throw new MutationSetupError(
          `${want} is not a gate module; accepted: ${GATE_MODULES.map((m) => fileOf(m.mutate)).join(", ")}`,
        );
      }
      return found;
    });
  }
  if (!args.changed) return [...GATE_MODULES];
  const changed = await changedFiles(args.base ?? process.env.GATE_MUTATION_BASE ?? "HEAD~1");
  return GATE_MODULES.filter((m) => [fileOf(m.mutate), ...m.tests].some((f) => changed.has(f)));
}

/** `src/agent/tools/paths.ts` → `src-agent-tools-paths-ts`: a module's folder under test-artifacts/mutation. */
const slugOf = (m: GateModule): string => fileOf(m.mutate).replace(/[^A-Za-z0-9]+/g, "-");

/** One Stryker run over one module and its tests; its scores, or why it could not complete. */
async function mutateModule(
  m: GateModule,
  force: boolean,
  deadline: number | undefined,
): Promise<{ scores: ModuleScore[] } | { failed: string }> {
  const slug = slugOf(m);
  const report = path.join(ROOT, "test-artifacts/mutation", slug, "mutation.json");
  await rm(report, { force: true });
  console.log(`mutation: ${m.mutate} with ${m.tests.join(", ")}`);
  const stryker = path.join(ROOT, "node_modules/@stryker-mutator/core/bin/stryker.js");
  const child = execa(
    process.execPath,
    [stryker, "run", "--mutate", m.mutate, ...(force ? ["--force"] : [])],
    {
      cwd: ROOT,
      env: { GATE_MUTATION_TESTS: JSON.stringify(m.tests), GATE_MUTATION_SLUG: slug },
      stdio: "inherit",
      reject: false,
      // Its own process group, so the bound below stops Stryker's test runner processes too.
      detached: true,
    },
  );
  let timedOut = false;
  const timer =
    deadline === undefined
      ? undefined
      : setTimeout(
          () => {
            timedOut = true;
            if (child.pid) process.kill(-child.pid, "SIGKILL");
          },
          Math.max(0, deadline - Date.now()),
        );
  const result = await child;
  clearTimeout(timer);
  if (timedOut) return { failed: "timeout" };
  const text = await readFile(report, "utf8").catch(() => undefined);
  if (result.exitCode !== 0 || text === undefined) {
    return {
      failed: `Stryker did not complete on ${m.mutate} (exit ${result.exitCode ?? result.signal}); its reason is printed above`,
    };
  }
  // An incremental report may carry other files: judge this module only.
  return {
    scores: scoresOf(JSON.parse(text) as MutationReport, ROOT).filter((s) => s.file === fileOf(m.mutate)),
  };
}

async function main(): Promise<number> {
  const args = parseArgs(process.argv.slice(2));
  const modules = await chooseModules(args);
  if (args.changed && modules.length === 0) {
    console.log("mutation: no gate module or gate test changed; nothing to mutate");
    return 0;
  }
  preflight(ROOT, modules);
  const maxMinutes = args.maxMinutes ?? (args.changed ? 5 : undefined);
  const deadline = maxMinutes === undefined ? undefined : Date.now() + maxMinutes * 60_000;
  const floors = JSON.parse(
    await readFile(path.join(ROOT, "scripts/mutation/floors.json"), "utf8"),
  ) as Record<string, number>;
  const scores: ModuleScore[] = [];
  // One module at a time, each with only its own tests, all of them for every mutant.
  for (const m of modules) {
    const r = await mutateModule(m, args.force, deadline);
    if ("failed" in r) {
      if (r.failed === "timeout") {
        console.error(
          `mutation: stopped after the ${maxMinutes} min bound (in ${m.mutate}); mutate fewer modules or raise --max-minutes`,
        );
        return 1;
      }
      console.error(`mutation: ${r.failed}`);
      return 2;
    }
    scores.push(...r.scores);
  }
  for (const s of scores) {
    console.log(`mutation: ${s.score.toFixed(2).padStart(6)} %  ${s.file}`);
    for (const survivor of s.survivors) console.log(`mutation:          ${s.file}:${survivor}`);
  }
  const below = belowFloors(scores, floors, TARGET);
  for (const b of below) console.error(`mutation: ${b}`);
  return below.length > 0 ? 1 : 0;
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    if (err instanceof MutationSetupError) {
      console.error(`mutation: cannot start: ${err.message}`);
      process.exit(2);
    }
    throw err;
  },
);
