import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { GitCommandError, runGit, tryGit } from "../../../src/shared/git/run-git.ts";

let repo: string;

beforeAll(async () => {
  repo = await mkdtemp(path.join(tmpdir(), "loom-run-git-"));
  await runGit(repo, ["init", "-q", "-b", "main"]);
  await runGit(repo, ["commit", "-q", "--allow-empty", "-m", "first"], {
    identity: { name: "Tester", email: "tester@loom.invalid" },
  });
});

afterAll(async () => {
  await rm(repo, { recursive: true, force: true });
});

describe("the shared git runner", () => {
  it("commits as the identity it is given", async () => {
    expect(await runGit(repo, ["log", "-1", "--format=%an <%ae>|%cn"])).toBe(
      "Tester <tester@loom.invalid>|Tester",
    );
  });

  it("names the command, the folder and git's own words when git exits non-zero", async () => {
    const err = await runGit(repo, ["rev-parse", "--verify", "no-such-ref^{commit}"]).catch((e) => e);
    expect(err).toBeInstanceOf(GitCommandError);
    expect(err.code).toBe("GIT_FAILED");
    expect(err.exitCode).toBe(128);
    expect(err.message).toContain('git rev-parse --verify "no-such-ref^{commit}" failed in');
    expect(err.message).toContain(repo);
    expect(err.message).toContain("fatal: Needed a single revision");
    expect(err.stderr).toBe("fatal: Needed a single revision");
  });

  it("returns a non-zero exit as data from tryGit", async () => {
    const r = await tryGit(repo, ["rev-parse", "--verify", "--quiet", "nothing"]);
    expect(r).toEqual({ exitCode: 1, stdout: "", stderr: "" });
  });

  it("feeds input and returns bytes as they are", async () => {
    const r = await tryGit(repo, ["hash-object", "-w", "--stdin"], { input: "a\u0000b\n" });
    const sha = r.stdout.trim();
    const out = await runGit(repo, ["cat-file", "--batch"], { input: `${sha}\n`, encoding: "buffer" });
    expect(Buffer.isBuffer(out)).toBe(true);
    expect(out.subarray(out.indexOf(0x0a) + 1)).toEqual(Buffer.from("a\u0000b\n\n"));
  });

  it("ignores the caller's GIT_* variables and adds the ones it is given", async () => {
    process.env.GIT_DIR = "/nonexistent/.git";
    try {
      expect((await runGit(repo, ["rev-parse", "--abbrev-ref", "HEAD"])).trim()).toBe("main");
    } finally {
      delete process.env.GIT_DIR;
    }
    const env = await runGit(repo, ["var", "GIT_AUTHOR_IDENT"], {
      env: { GIT_AUTHOR_NAME: "From Env", GIT_AUTHOR_EMAIL: "env@loom.invalid" },
    });
    expect(env).toMatch(/^From Env <env@loom\.invalid>/);
  });

  // An alias that runs a shell command: git waits for it, and it holds git's pipes.
  const hanging = ["-c", "alias.hang=!sleep 30", "hang"];
  const identity = { name: "Tester", email: "tester@loom.invalid" };

  it("stops on an abort signal and says so", async () => {
    const controller = new AbortController();
    const started = Date.now();
    const pending = runGit(repo, hanging, { identity, signal: controller.signal });
    setTimeout(() => controller.abort(), 100);
    const err = await pending.catch((e) => e);
    expect(Date.now() - started).toBeLessThan(20_000);
    expect(err).toBeInstanceOf(GitCommandError);
    expect(err.exitCode).toBeUndefined();
    expect(err.message).toMatch(/could not run git -c "alias.hang=!sleep 30" hang in .*: aborted/);
  });

  it("refuses at once when the signal is already aborted", async () => {
    const err = await runGit(repo, ["status"], { signal: AbortSignal.abort() }).catch((e) => e);
    expect(err.message).toMatch(/aborted before it started/);
  });

  it("stops a git that outlives its time limit", async () => {
    const started = Date.now();
    const err = await tryGit(repo, hanging, { identity, timeoutMs: 300 }).catch((e) => e);
    expect(err).toBeInstanceOf(GitCommandError);
    expect(err.message).toMatch(/timed out after 300 ms/);
    expect(Date.now() - started).toBeLessThan(20_000);
  });

  it("says when git itself is missing from the folder asked for", async () => {
    const err = await runGit(path.join(repo, "no-such-folder"), ["status"]).catch((e) => e);
    expect(err).toBeInstanceOf(GitCommandError);
    expect(err.message).toMatch(/could not run git status in .*no-such-folder: /);
  });
});
