import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { execa } from "execa";
import { expect } from "vitest";
import { GitOpError } from "../../src/supervisor/git/git-op-error.ts";

/** Plain git for arranging and inspecting fixtures; identity via -c so no global config is needed. */
export async function sh(cwd: string, args: string[]): Promise<string> {
  const r = await execa("git", ["-c", "user.name=Test", "-c", "user.email=test@loom.invalid", ...args], {
    cwd,
    stdin: "ignore",
  });
  return r.stdout;
}

export async function writeFiles(dir: string, files: Record<string, string>): Promise<void> {
  for (const [rel, text] of Object.entries(files)) {
    await mkdir(path.dirname(path.join(dir, rel)), { recursive: true });
    await writeFile(path.join(dir, rel), text);
  }
}

/** One shell for several git commands: the machine is shared, and every spawn costs. */
async function shScript(cwd: string, script: string, args: string[] = []): Promise<string> {
  const id = "-c user.name=Test -c user.email=test@loom.invalid";
  const r = await execa("sh", ["-ec", script.replaceAll("git ", `git ${id} `), "sh", ...args], {
    cwd,
    stdin: "ignore",
  });
  return r.stdout;
}

export async function commitFiles(
  dir: string,
  files: Record<string, string>,
  message: string,
): Promise<string> {
  await writeFiles(dir, files);
  const out = await shScript(dir, 'git add -A; git commit -q --no-verify -m "$1"; git rev-parse HEAD', [
    message,
  ]);
  return out.trim();
}

/** A temp folder holding `repo/` (on main, one commit with schemas and src) and room for workspaces. */
export async function makeFixture(): Promise<{ root: string; repo: string; cleanup: () => Promise<void> }> {
  const root = await mkdtemp(path.join(tmpdir(), "loom-git-"));
  const repo = path.join(root, "repo");
  await mkdir(repo);
  await sh(repo, ["init", "-q", "-b", "main"]);
  await commitFiles(
    repo,
    {
      "schemas/thing.ts": "export const thing = 1;\n",
      "src/app.ts": "export const app = 1;\n",
      ".gitignore": "program.md\n.loom/\n",
    },
    "initial",
  );
  return { root, repo, cleanup: () => rm(root, { recursive: true, force: true }) };
}

async function filesUnder(dir: string, rel = ""): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for (const entry of await readdir(path.join(dir, rel), { withFileTypes: true })) {
    const p = rel ? `${rel}/${entry.name}` : entry.name;
    if (p === ".git") continue;
    if (entry.isDirectory()) Object.assign(out, await filesUnder(dir, p));
    else out[p] = await readFile(path.join(dir, p), "utf8");
  }
  return out;
}

/** Everything a failed operation must leave exactly as it was; one shell keeps it to one spawn. */
export async function snapshot(repo: string): Promise<Record<string, unknown>> {
  const script = [
    "git for-each-ref --format='%(refname) %(objectname)'",
    "git status --porcelain --untracked-files=all",
    "git symbolic-ref -q HEAD || echo detached",
    "git rev-parse HEAD",
    "git ls-files -s",
    "git worktree list --porcelain",
  ].join("; echo ---; ");
  return { git: await shScript(repo, script), files: await filesUnder(repo) };
}

/** Commits `files` on a new `lab/gen-N` off main inside the repo, as a fetched Lab branch would be. */
export async function labBranch(repo: string, n: number, files: Record<string, string>): Promise<void> {
  await sh(repo, ["checkout", "-q", "-b", `lab/gen-${n}`, "main"]);
  await writeFiles(repo, files);
  await shScript(repo, 'git add -A; git commit -q --no-verify -m "$1"; git checkout -q main', [
    `gen-${n}: work`,
  ]);
}

/** Resolves to the rejection of `p` (failing the test if it resolves). */
export async function rejection(p: Promise<unknown>): Promise<Error & { code?: string }> {
  const outcome = await p.then(
    () => ({ ok: true as const }),
    (err: unknown) => ({ ok: false as const, err }),
  );
  if (outcome.ok) throw new Error("expected the operation to fail, but it succeeded");
  return outcome.err as Error & { code?: string };
}

/** Runs `run`, expects it to fail with a GitOpError of `code`, and the repo to be exactly as before. */
export async function expectRefusedUntouched(
  repo: string,
  code: string,
  run: () => Promise<unknown>,
): Promise<Error> {
  const before = await snapshot(repo);
  const err = await rejection(run());
  expect(err).toBeInstanceOf(GitOpError);
  expect(err.code).toBe(code);
  expect(await snapshot(repo)).toEqual(before);
  return err;
}
