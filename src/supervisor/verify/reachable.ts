import { z } from "zod";
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
  const snap = /(.*?)__snapshots__\/(.+)\.snap$/.exec(file);
  return snap ? `${snap[1]}${snap[2]}` : file;
}

/** POSIX sh quoting. */
const quote = (s: string) => `'${s.replaceAll("'", "'\\''")}'`;

/** Scripts a command runs through npm: `npm test`, `npm run x`, `npm run-script x`. */
const NPM_RUN = /\bnpm\s+(?:run(?:-script)?\s+([\w:.-]+)|(test)\b)/g;
/** A command of the shell text that is vitest (optionally through npx), with its words; the text starts with `(`. */
const VITEST = /[;&|(]\s*(?:npx\s+(?:--no(?:-install)?\s+)?)?vitest((?:\s+[^\s;&|()]+)*)/g;

/** A package.json's scripts, when it has any. */
const WithScripts = z.object({ scripts: z.record(z.string(), z.unknown()) });

/** A script's text with the scripts it runs through npm written out, each once (a missing one left as written). */
function expand(scripts: Record<string, unknown>, body: string, seen: Set<string>): string {
  return body.replace(NPM_RUN, (all, run: string | undefined, test: string | undefined) => {
    const inner = (run ?? test) as string;
    const text = scripts[inner];
    if (seen.has(inner) || typeof text !== "string") return all;
    seen.add(inner);
    return `(${expand(scripts, text, seen)})`;
  });
}

/** main's `npm test` written out through its scripts (left as `npm test` when there is no test script). */
function testScript(mainPackageJson: string | undefined): string {
  let parsed: unknown;
  try {
    parsed = JSON.parse(String(mainPackageJson));
  } catch {
    // Not JSON: no scripts.
  }
  return expand(WithScripts.safeParse(parsed).data?.scripts ?? {}, "npm test", new Set());
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
  const runs = [...testScript(mainPackageJson).matchAll(VITEST)].map(
    (m) => (m[1] as string).match(/\S+/g) ?? [],
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
