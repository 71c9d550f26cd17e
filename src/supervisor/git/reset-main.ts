import { CommitSha } from "../../../schemas/supervisor.ts";
import { GitOpError } from "./git-op-error.ts";
import { moveMain } from "./move-main.ts";
import { serializedOnRepo } from "./repo-queue.ts";
import { assertRepo, cleanMainCheckouts, readRefs, requireMain, resolveRef } from "./repo-state.ts";
import { tryGit } from "./run-git.ts";

export interface ResetMainInput {
  readonly repo: string;
  /** The tag to go back to, e.g. the previous generation's `gen-N` (give this or `commit`). */
  readonly tag?: string;
  /** The commit to go back to, e.g. what main was before a promotion (the initial commit has no tag). */
  readonly commit?: string;
  /** The sha main must still be at; anything else means someone moved it and the reset is refused. */
  readonly expected: string;
  /**
   * A tag deleted in the same ref transaction as main's move (the undone promotion's `gen-N`): main
   * and the tag move together or not at all. It must exist.
   */
  readonly dropTag?: string;
}

export interface ResetMainResult {
  /** Where main was (the expected commit). */
  readonly previous: string;
  readonly main: string;
  /** The tag deleted with the move, if one was asked for. */
  readonly droppedTag?: string;
}

/** Moves main back to a tag or a commit (undoing a bad promotion), atomically and only from the expected commit. */
export function resetMainTo(input: ResetMainInput): Promise<ResetMainResult> {
  return serializedOnRepo(String(input?.repo), () => resetMainToNow(input));
}

async function validTagName(repo: string, tag: unknown): Promise<boolean> {
  return (
    typeof tag === "string" &&
    !tag.startsWith("-") &&
    (await tryGit(repo, ["check-ref-format", `refs/tags/${tag}`])).exitCode === 0
  );
}

async function resolveTarget(repo: string, input: ResetMainInput): Promise<{ sha: string; label: string }> {
  if ((input.tag === undefined) === (input.commit === undefined)) {
    throw new GitOpError(
      "INVALID_INPUT",
      'pass exactly one of tag (e.g. "gen-3") or commit (a full sha) to say where main goes back to',
    );
  }
  if (input.commit !== undefined) {
    if (!CommitSha.safeParse(input.commit).success) {
      throw new GitOpError(
        "INVALID_INPUT",
        `commit ${JSON.stringify(input.commit)} is not accepted; pass a full lowercase commit sha`,
      );
    }
    const sha = await resolveRef(repo, `${input.commit}^{commit}`);
    if (sha !== input.commit) {
      throw new GitOpError(
        "INVALID_INPUT",
        `${repo} has no commit ${input.commit}; pass a commit that exists`,
      );
    }
    return { sha, label: input.commit.slice(0, 12) };
  }
  const tag = input.tag;
  if (!(await validTagName(repo, tag))) {
    throw new GitOpError(
      "INVALID_INPUT",
      `tag ${JSON.stringify(tag)} is not a valid tag name; pass e.g. "gen-3"`,
    );
  }
  const sha = await resolveRef(repo, `refs/tags/${tag}`, true);
  if (!sha) throw new GitOpError("TAG_NOT_FOUND", `${repo} has no tag ${tag}; pass a tag that exists`);
  return { sha, label: tag as string };
}

async function resetMainToNow(input: ResetMainInput): Promise<ResetMainResult> {
  const repo = await assertRepo(input.repo);
  if (!CommitSha.safeParse(input.expected).success) {
    throw new GitOpError(
      "INVALID_INPUT",
      `expected ${JSON.stringify(input.expected)} is not accepted; pass the full commit sha main is at now`,
    );
  }
  const target = await resolveTarget(repo, input);
  const alsoRefs: string[] = [];
  if (input.dropTag !== undefined) {
    if (!(await validTagName(repo, input.dropTag))) {
      throw new GitOpError(
        "INVALID_INPUT",
        `dropTag ${JSON.stringify(input.dropTag)} is not a valid tag name; pass e.g. "gen-4"`,
      );
    }
    const ref = `refs/tags/${input.dropTag}`;
    const found = (await readRefs(repo, [ref])).get(ref);
    if (!found) {
      throw new GitOpError(
        "TAG_NOT_FOUND",
        `${repo} has no tag ${input.dropTag} to delete with the reset; nothing was changed`,
      );
    }
    // Deleted only if it still names the same object, in the transaction that moves main.
    alsoRefs.push(`delete ${ref} ${found.object}`);
  }
  const current = await requireMain(repo);
  if (current !== input.expected) {
    throw new GitOpError(
      "MAIN_MOVED",
      `main is at ${current}, not the expected ${input.expected}; someone moved main — inspect \`git log main\` before resetting`,
    );
  }
  const checkouts = await cleanMainCheckouts(repo);
  const message = `loom: reset main to ${target.label}${input.dropTag ? `, dropping ${input.dropTag}` : ""}`;
  if (current !== target.sha || alsoRefs.length > 0) {
    await moveMain({ repo, checkouts, from: current, to: target.sha, alsoRefs, message });
  }
  return {
    previous: current,
    main: target.sha,
    ...(input.dropTag !== undefined ? { droppedTag: input.dropTag } : {}),
  };
}
