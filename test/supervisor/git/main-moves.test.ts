import { readFile } from "node:fs/promises";
import path from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { moveMain } from "../../../src/supervisor/git/move-main.ts";
import { promote } from "../../../src/supervisor/git/promote.ts";
import { resetMainTo } from "../../../src/supervisor/git/reset-main.ts";
import {
  commitFiles,
  labBranch,
  makeFixture,
  expectRefusedUntouched as refusedUntouched,
  sh,
} from "../git-repo-fixture.ts";

let fx: Awaited<ReturnType<typeof makeFixture>>;
beforeEach(async () => {
  fx = await makeFixture();
});
afterEach(async () => {
  await fx.cleanup();
});

const labWork = (n: number, files: Record<string, string>): Promise<void> => labBranch(fx.repo, n, files);
const expectRefusedUntouched = (code: string, run: () => Promise<unknown>): Promise<Error> =>
  refusedUntouched(fx.repo, code, run);
const mainSha = async (): Promise<string> => (await sh(fx.repo, ["rev-parse", "main"])).trim();

describe("resetMainTo", () => {
  it("moves main back to a tag only from the expected commit", async () => {
    await sh(fx.repo, ["tag", "-a", "-m", "base", "gen-0", "main"]);
    const base = await mainSha();
    await labWork(1, { "src/new.ts": "x\n" });
    const { mergeCommit } = await promote({ repo: fx.repo, generation: 1 });

    const err = await expectRefusedUntouched("MAIN_MOVED", () =>
      resetMainTo({ repo: fx.repo, tag: "gen-0", expected: base }),
    );
    expect(err.message).toContain(`main is at ${mergeCommit}`);
    await expectRefusedUntouched("TAG_NOT_FOUND", () =>
      resetMainTo({ repo: fx.repo, tag: "gen-9", expected: mergeCommit }),
    );
    await expectRefusedUntouched("INVALID_INPUT", () =>
      resetMainTo({ repo: fx.repo, tag: "bad..name", expected: mergeCommit }),
    );

    expect(await resetMainTo({ repo: fx.repo, tag: "gen-0", expected: mergeCommit })).toEqual({
      previous: mergeCommit,
      main: base,
    });
    expect(await mainSha()).toBe(base);
    expect(await sh(fx.repo, ["status", "--porcelain", "--untracked-files=all"])).toBe("");
    await expect(readFile(path.join(fx.repo, "src/new.ts"))).rejects.toMatchObject({ code: "ENOENT" });
    expect((await sh(fx.repo, ["rev-parse", "gen-1^{commit}"])).trim()).toBe(mergeCommit);
  });
});

describe("resetMainTo a commit, dropping the undone promotion's tag", () => {
  it("moves main to the commit before a promotion and deletes gen-N in one transaction", async () => {
    const base = await mainSha();
    await labWork(1, { "src/new.ts": "x\n" });
    const { mergeCommit } = await promote({ repo: fx.repo, generation: 1 });

    await expectRefusedUntouched("INVALID_INPUT", () =>
      resetMainTo({ repo: fx.repo, tag: "gen-1", commit: base, expected: mergeCommit }),
    );
    await expectRefusedUntouched("INVALID_INPUT", () =>
      resetMainTo({ repo: fx.repo, commit: "f".repeat(40), expected: mergeCommit }),
    );
    await expectRefusedUntouched("INVALID_INPUT", () =>
      resetMainTo({ repo: fx.repo, commit: "main", expected: mergeCommit }),
    );
    await expectRefusedUntouched("TAG_NOT_FOUND", () =>
      resetMainTo({ repo: fx.repo, commit: base, expected: mergeCommit, dropTag: "gen-7" }),
    );
    // main elsewhere than expected: neither main nor the tag moves.
    await expectRefusedUntouched("MAIN_MOVED", () =>
      resetMainTo({ repo: fx.repo, commit: base, expected: base, dropTag: "gen-1" }),
    );

    expect(
      await resetMainTo({ repo: fx.repo, commit: base, expected: mergeCommit, dropTag: "gen-1" }),
    ).toEqual({ previous: mergeCommit, main: base, droppedTag: "gen-1" });
    expect(await mainSha()).toBe(base);
    expect(await sh(fx.repo, ["tag", "--list", "gen-1"])).toBe("");
    expect(await sh(fx.repo, ["status", "--porcelain", "--untracked-files=all"])).toBe("");
    await expect(readFile(path.join(fx.repo, "src/new.ts"))).rejects.toMatchObject({ code: "ENOENT" });
  });
});

describe("moveMain", () => {
  it("refuses with MAIN_MOVED when main is no longer where the caller saw it, restoring the checkout", async () => {
    const first = await mainSha();
    const second = await commitFiles(fx.repo, { "src/two.ts": "2\n" }, "second");
    await labWork(1, { "src/lab.ts": "lab\n" });
    const lab = (await sh(fx.repo, ["rev-parse", "lab/gen-1"])).trim();
    // The caller believes main is still at `first`; the checkout is updated first, then must be undone.
    const err = await expectRefusedUntouched("MAIN_MOVED", () =>
      moveMain({ repo: fx.repo, checkouts: [fx.repo], from: first, to: lab, message: "test" }),
    );
    expect(err.message).toContain("nothing was changed");
    expect(await mainSha()).toBe(second);
  });
});

describe("promote, concurrently", () => {
  it("runs two promotions of one repo one after the other, so both land", async () => {
    await labWork(1, { "src/one.ts": "1\n" });
    await labWork(2, { "src/two.ts": "2\n" });
    const [a, b] = await Promise.all([
      promote({ repo: fx.repo, generation: 1 }),
      promote({ repo: fx.repo, generation: 2 }),
    ]);
    expect(await mainSha()).toBe(b.mergeCommit);
    expect((await sh(fx.repo, ["rev-parse", "main^1"])).trim()).toBe(a.mergeCommit);
    expect(await sh(fx.repo, ["ls-files", "src"])).toBe("src/app.ts\nsrc/one.ts\nsrc/two.ts");
    expect(await sh(fx.repo, ["status", "--porcelain"])).toBe("");
  });
});
