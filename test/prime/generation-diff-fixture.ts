import { execFileSync } from "node:child_process";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { GenerationDiff } from "../../schemas/generation-diff.ts";
import { summarizeDeclarations } from "../../src/analyze/declaration-diff.ts";
import { tempWorkspace } from "../helpers/workspace.ts";

const repoRoot = path.resolve(fileURLToPath(new URL(".", import.meta.url)), "../..");
export const readRepoFile = (rel: string): string => readFileSync(path.join(repoRoot, rel), "utf8");

const git = (cwd: string, ...args: string[]): string =>
  execFileSync("git", args, {
    cwd,
    encoding: "utf8",
    maxBuffer: 64 * 1024 * 1024,
    env: {
      ...process.env,
      GIT_AUTHOR_NAME: "t",
      GIT_AUTHOR_EMAIL: "t@example.invalid",
      GIT_COMMITTER_NAME: "t",
      GIT_COMMITTER_EMAIL: "t@example.invalid",
    },
  });

/**
 * A GenerationDiff made the way the Supervisor makes one: two real commits in a scratch git repo,
 * `git diff base head`, and the declaration summary of the changed files.
 */
export async function generationDiff(
  before: Record<string, string>,
  after: Record<string, string | null>,
  program: string,
  generation = 1,
): Promise<GenerationDiff> {
  const ws = await tempWorkspace();
  try {
    const dir = ws.dir;
    git(dir, "init", "-q", "-b", "main");
    const write = (rel: string, text: string) => {
      mkdirSync(path.dirname(path.join(dir, rel)), { recursive: true });
      writeFileSync(path.join(dir, rel), text);
    };
    for (const [rel, text] of Object.entries(before)) write(rel, text);
    git(dir, "add", "-A");
    git(dir, "commit", "-q", "--allow-empty", "-m", "base");
    const base = git(dir, "rev-parse", "HEAD").trim();
    for (const [rel, text] of Object.entries(after)) {
      if (text === null) git(dir, "rm", "-q", rel);
      else write(rel, text);
    }
    write("program.md", program);
    git(dir, "add", "-A");
    git(dir, "commit", "-q", "-m", "gen");
    const head = git(dir, "rev-parse", "HEAD").trim();
    const diff = git(dir, "diff", base, head);
    const stat = git(dir, "diff", "--shortstat", base, head);
    const num = (re: RegExp) => Number(re.exec(stat)?.[1] ?? 0);
    const changed = Object.keys(after);
    return GenerationDiff.parse({
      generation,
      base,
      head,
      program,
      stat: {
        files: num(/(\d+) files? changed/),
        insertions: num(/(\d+) insertions?/),
        deletions: num(/(\d+) deletions?/),
      },
      diff,
      truncated: false,
      declarations: summarizeDeclarations(
        new Map(changed.filter((p) => before[p] !== undefined).map((p) => [p, before[p]!])),
        new Map(changed.filter((p) => after[p] != null).map((p) => [p, after[p]!])),
      ),
    });
  } finally {
    await ws.cleanup();
  }
}
