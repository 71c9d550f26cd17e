import { CommitSha } from "../../../schemas/supervisor.ts";
import { GitOpError } from "./git-op-error.ts";
import { moveMain } from "./move-main.ts";
import { serializedOnRepo } from "./repo-queue.ts";
import { assertRepo, cleanMainCheckouts, requireMain, resolveRef } from "./repo-state.ts";
import { tryGit } from "./run-git.ts";

export interface ResetMainInput {
  readonly repo: string;
  /** The tag to go back to, e.g. the previous generation's `gen-N`. */
  readonly tag: string;
  /** The sha main must still be at; anything else means someone moved it and the reset is refused. */
  readonly expected: string;
}

/** Moves main back to a tag (undoing a bad promotion), atomically and only from the expected commit. */
export function resetMainTo(input: ResetMainInput): Promise<{ previous: string; main: string }> {
  return serializedOnRepo(String(input?.repo), () => resetMainToNow(input));
}

async function resetMainToNow(input: ResetMainInput): Promise<{ previous: string; main: string }> {
  const repo = await assertRepo(input.repo);
  if (!CommitSha.safeParse(input.expected).success) {
    throw new GitOpError(
      "INVALID_INPUT",
      `expected ${JSON.stringify(input.expected)} is not accepted; pass the full commit sha main is at now`,
    );
  }
  const tag = input.tag;
  const valid =
    typeof tag === "string" &&
    !tag.startsWith("-") &&
    (await tryGit(repo, ["check-ref-format", `refs/tags/${tag}`])).exitCode === 0;
  if (!valid) {
    throw new GitOpError(
      "INVALID_INPUT",
      `tag ${JSON.stringify(tag)} is not a valid tag name; pass e.g. "gen-3"`,
    );
  }
  const target = await resolveRef(repo, `refs/tags/${tag}`, true);
  if (!target) throw new GitOpError("TAG_NOT_FOUND", `${repo} has no tag ${tag}; pass a tag that exists`);
  const current = await requireMain(repo);
  if (current !== input.expected) {
    throw new GitOpError(
      "MAIN_MOVED",
      `main is at ${current}, not the expected ${input.expected}; someone moved main — inspect \`git log main\` before resetting`,
    );
  }
  const checkouts = await cleanMainCheckouts(repo);
  if (current !== target) {
    await moveMain({ repo, checkouts, from: current, to: target, message: `loom: reset main to ${tag}` });
  }
  return { previous: current, main: target };
}
