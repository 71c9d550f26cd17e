import { git } from "../git/run-git.ts";

/**
 * The reachable-tests stage of the cascade: only the test files the change can reach, found by
 * vitest's own `related` (the import graph, static and dynamic, from each test file down to the
 * changed files, resolved as vitest resolves it). It is an early rejection, never a pass: a candidate
 * that gets through still runs the full suite, so a test the graph cannot see (one that spawns a
 * process, reads a fixture) only costs time, never weakens the gate.
 */

/**
 * Files whose change reaches every test (the packages, the compiler's or test runner's configuration):
 * then the reachable tests are the whole suite, and the stage is skipped as not narrower. vitest itself
 * reruns everything on package.json and its config (its forceRerunTriggers).
 */
const WHOLE_SUITE = [
  /(^|\/)package\.json$/,
  /(^|\/)package-lock\.json$/,
  /(^|\/)npm-shrinkwrap\.json$/,
  /(^|\/)tsconfig[^/]*\.json$/,
  /(^|\/)(vitest|vite)\.(config|workspace)\.[^/]+$/,
];

/** A vitest snapshot file stands for the test file beside it (`__snapshots__/x.test.ts.snap` → `x.test.ts`). */
function standsFor(file: string): string {
  const snap = /^(.*?)__snapshots__\/(.+)\.snap$/.exec(file);
  return snap ? `${snap[1]}${snap[2]}` : file;
}

/** POSIX sh quoting. */
const quote = (s: string) => `'${s.replaceAll("'", "'\\''")}'`;

/** Scripts a command runs through npm: `npm test`, `npm run x`, `npm run-script x`. */
const NPM_RUN = /\bnpm\s+(?:run(?:-script)?\s+([\w:.-]+)|(test)\b)/g;
/** A command of the shell text that is vitest (optionally through npx), with its words. */
const VITEST = /(?:^|[;&|(]\s*)(?:npx\s+(?:--no(?:-install)?\s+)?)?vitest((?:\s+[^\s;&|()]+)*)/g;

/** main's `test` script with the scripts it runs through npm written out (each once). */
function expand(scripts: Record<string, unknown>, name: string, seen = new Set<string>()): string {
  if (seen.has(name)) return "";
  seen.add(name);
  const body = scripts[name];
  if (typeof body !== "string") return "";
  return body.replace(NPM_RUN, (all, run: string | undefined, test: string | undefined) => {
    const inner = run ?? test ?? "";
    return typeof scripts[inner] === "string" ? `(${expand(scripts, inner, seen)})` : all;
  });
}

export type ReachablePlan =
  | { readonly kind: "run"; readonly command: string; readonly files: readonly string[] }
  | { readonly kind: "skip"; readonly reason: string };

/**
 * What the reachable-tests stage does for a change of `changed` (paths from the merge base to the
 * candidate), given main's package.json: the vitest command that runs the related test files, or why
 * the stage is skipped (the test script is not vitest, or the change reaches the whole suite).
 */
export function reachablePlan(
  mainPackageJson: string | undefined,
  changed: readonly string[],
): ReachablePlan {
  let scripts: Record<string, unknown> = {};
  try {
    const pkg = JSON.parse(mainPackageJson ?? "") as { scripts?: unknown };
    if (pkg && typeof pkg.scripts === "object" && pkg.scripts !== null)
      scripts = pkg.scripts as Record<string, unknown>;
  } catch {
    // No readable package.json: no vitest to find below.
  }
  const runs = [...expand(scripts, "test").matchAll(VITEST)].map((m) =>
    (m[1] ?? "").trim().split(/\s+/).filter(Boolean),
  );
  // The unit suite: the first vitest command without its own --config (an acceptance run names one).
  const unit = runs.find((words) => !words.some((w) => w.startsWith("--config") || w === "-c"));
  if (!unit)
    return {
      kind: "skip",
      reason: "main's test script does not run vitest, so the reachable tests are not known",
    };
  const args = unit[0] === "run" ? unit.slice(1) : unit;
  if (args.some((w) => !w.startsWith("-")))
    return { kind: "skip", reason: `main's test script runs vitest on chosen files (${args.join(" ")})` };
  const whole = changed.filter((f) => WHOLE_SUITE.some((re) => re.test(f)));
  if (whole.length > 0)
    return {
      kind: "skip",
      reason: `not narrower than the full suite: the change reaches every test (${whole.slice(0, 5).join(", ")})`,
    };
  if (changed.length === 0) return { kind: "skip", reason: "the change touches no file" };
  const files = [...new Set(changed.map(standsFor))];
  const command = [
    // --bail=1: the stage needs only a verdict, so the first failing test ends it.
    'PATH="$PWD/node_modules/.bin:$PATH" vitest related --run --passWithNoTests --bail=1',
    ...args.map(quote),
    // Not after `--`, which vitest's CLI reads as no files; `./` keeps a name starting with `-` a file.
    ...files.map((f) => quote(`./${f}`)),
  ].join(" ");
  return { kind: "run", command, files };
}

/** The paths `commit` changes relative to `base` (deleted files included: a test still importing one fails). */
export async function changedFiles(repo: string, base: string, commit: string): Promise<string[]> {
  const out = await git(repo, ["diff", "--name-only", "--no-renames", "-z", base, commit], {
    what: `listing the files changed between ${base.slice(0, 12)} and ${commit.slice(0, 12)}`,
  });
  return out.split("\0").filter(Boolean);
}
