import { stat } from "node:fs/promises";
import path from "node:path";
import { GitOpError } from "./git-op-error.ts";
import { assertRepo, checkGeneration, labRef } from "./repo-state.ts";
import { git, tryGit } from "./run-git.ts";

export interface FetchLabBranchInput {
  readonly repo: string;
  readonly workspace: string;
  readonly generation: number;
}

/**
 * Copies `lab/gen-N` from the Lab's workspace into the repo (forced: the workspace is the truth for
 * the Lab's branch) and returns its commit. Runs only from the repo side: the workspace was written by
 * an agent, so its own config is never used to run commands.
 */
export async function fetchLabBranch(input: FetchLabBranchInput): Promise<string> {
  const n = checkGeneration(input.generation);
  const repo = await assertRepo(input.repo);
  if (typeof input.workspace !== "string" || input.workspace.trim() === "") {
    throw new GitOpError("INVALID_INPUT", "workspace is empty; pass the Lab's workspace folder");
  }
  const workspace = path.resolve(input.workspace);
  const gitDir = await stat(path.join(workspace, ".git")).catch(() => undefined);
  if (!gitDir) {
    throw new GitOpError(
      "WORKSPACE_MISSING",
      `workspace ${workspace} is gone or is not a git clone; the Lab's work cannot be fetched — record gen-${n} as failed`,
    );
  }
  const ref = labRef(n);
  const listed = await tryGit(repo, ["ls-remote", "--", workspace, ref]);
  if (listed.exitCode !== 0) {
    throw new GitOpError("FETCH_FAILED", `could not read workspace ${workspace}: ${listed.stderr.trim()}`);
  }
  const sha = listed.stdout.split("\t")[0]?.trim();
  if (!sha) {
    throw new GitOpError(
      "BRANCH_NOT_FOUND",
      `workspace ${workspace} has no branch lab/gen-${n}; it was not prepared for generation ${n}`,
    );
  }
  await git(
    repo,
    ["fetch", "--quiet", "--no-tags", "--no-write-fetch-head", "--", workspace, `+${ref}:${ref}`],
    {
      code: "FETCH_FAILED",
      what: `fetching lab/gen-${n}`,
    },
  );
  return sha;
}
