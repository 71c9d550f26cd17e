import { randomBytes } from "node:crypto";
import { readdirSync, readFileSync } from "node:fs";
import { readFile, writeFile } from "node:fs/promises";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { cloneAt, pushBranch } from "../../../src/supervisor/git-http/index.ts";
import { commitFiles, sh } from "../git-repo-fixture.ts";
import { type GitHttpFixture, gitAs, refs, startFixture } from "./git-http-fixture.ts";

let f: GitHttpFixture;
let n = 0;
const fresh = () => path.join(f.root, `clone-${++n}`);

beforeAll(async () => {
  f = await startFixture({ maxPushBytes: 200_000 });
});
afterAll(async () => {
  await f?.cleanup();
});

/** A clone on lab/gen-`g` with one new commit, made with a token that may push it. */
async function labClone(g: number, token: string): Promise<string> {
  const dir = fresh();
  await cloneAt({ url: f.server.url, token, ref: "main", dir, branch: `lab/gen-${g}` });
  await commitFiles(dir, { [`src/gen${g}-${n}.ts`]: `export const g = ${g};\n` }, `gen-${g} work`);
  return dir;
}

describe("cloning with a token", () => {
  it("checks out main, or one commit in a shallow clone", async () => {
    const token = f.server.grant({ generation: 1 });
    const main = await sh(f.repo, ["rev-parse", "main"]);
    const dir = fresh();
    expect(await cloneAt({ url: f.server.url, token, ref: "main", dir })).toBe(main);
    expect(await readFile(path.join(dir, "src/app.ts"), "utf8")).toBe("export const app = 2;\n");
    expect(await sh(dir, ["rev-list", "--count", "HEAD"])).toBe("2");

    const first = await sh(f.repo, ["rev-parse", "main~1"]);
    const shallow = fresh();
    expect(await cloneAt({ url: f.server.url, token, commit: first, dir: shallow, depth: 1 })).toBe(first);
    expect(await readFile(path.join(shallow, "src/app.ts"), "utf8")).toBe("export const app = 1;\n");
    expect(await sh(shallow, ["rev-list", "--count", "HEAD"])).toBe("1");
    expect(await sh(shallow, ["rev-parse", "--is-shallow-repository"])).toBe("true");
  });

  it("refuses no token, a wrong token and a revoked token, saying so", async () => {
    const noToken = await gitAs(f.root, undefined, ["ls-remote", f.server.url]);
    expect(noToken.exitCode).not.toBe(0);
    expect(noToken.stderr).toMatch(/could not read Username/);

    await expect(
      cloneAt({ url: f.server.url, token: "not-a-granted-token", ref: "main", dir: fresh() }),
    ).rejects.toThrow(/refused the token \(HTTP 401: never granted, or revoked\)/);
    const token = f.server.grant({ generation: 2 });
    expect(await cloneAt({ url: f.server.url, token, ref: "main", dir: fresh() })).toMatch(/^[0-9a-f]{40}$/);
    expect(f.server.revoke(token)).toBe(true);
    expect(f.server.revoke(token)).toBe(false);
    await expect(cloneAt({ url: f.server.url, token, ref: "main", dir: fresh() })).rejects.toThrow(
      /HTTP 401/,
    );
  });

  it("never puts the token in a process's argv or in the clone's config", async () => {
    const token = f.server.grant({ generation: 3 });
    const basic = Buffer.from(`loom:${token}`).toString("base64");
    const seen: string[] = [];
    // Samples every process's argv while the clone runs; git-remote-http has the URL in its argv.
    const sample = () => {
      for (const pid of readdirSync("/proc")) {
        if (!/^\d+$/.test(pid)) continue;
        try {
          const argv = readFileSync(`/proc/${pid}/cmdline`, "latin1").replaceAll("\0", " ");
          if (argv.includes(f.server.url) || argv.includes(token) || argv.includes(basic)) seen.push(argv);
        } catch {}
      }
    };
    const timer = setInterval(sample, 1);
    const dir = fresh();
    try {
      await cloneAt({ url: f.server.url, token, ref: "main", dir, branch: "lab/gen-3" });
      await commitFiles(dir, { "x.ts": "export const x = 1;\n" }, "x");
      await pushBranch({
        dir,
        url: f.server.url,
        token: f.server.grant({ generation: 3, push: "lab/gen-3" }),
        branch: "lab/gen-3",
      });
    } finally {
      clearInterval(timer);
    }
    expect(seen.some((a) => a.includes(f.server.url))).toBe(true);
    expect(seen.filter((a) => a.includes(token) || a.includes(basic))).toEqual([]);
    const config = await readFile(path.join(dir, ".git", "config"), "utf8");
    expect(config).not.toContain(token);
    expect(config).not.toContain(basic);
    expect(config.toLowerCase()).not.toContain("authorization");
    expect(await sh(dir, ["config", "--list", "--show-origin"])).not.toContain(basic);
  });
});

describe("pushing", () => {
  it("lands lab/gen-N in the repository with its grant", async () => {
    const token = f.server.grant({ generation: 4, push: "lab/gen-4" });
    const dir = await labClone(4, token);
    const head = await sh(dir, ["rev-parse", "HEAD"]);
    expect(await pushBranch({ dir, url: f.server.url, token, branch: "lab/gen-4" })).toBe(head);
    expect(await sh(f.repo, ["rev-parse", "refs/heads/lab/gen-4"])).toBe(head);
    // Again after more work, and after rewriting it: the workspace is the truth for its branch.
    await commitFiles(dir, { "more.ts": "export const more = 1;\n" }, "more");
    await sh(dir, ["commit", "--amend", "-q", "-m", "more, reworded"]);
    const amended = await sh(dir, ["rev-parse", "HEAD"]);
    await pushBranch({ dir, url: f.server.url, token, branch: "lab/gen-4" });
    expect(await sh(f.repo, ["rev-parse", "refs/heads/lab/gen-4"])).toBe(amended);
  });

  it("lands a push from a shallow clone of one commit", async () => {
    const token = f.server.grant({ generation: 5, push: "lab/gen-5" });
    const dir = fresh();
    const main = await sh(f.repo, ["rev-parse", "main"]);
    await cloneAt({ url: f.server.url, token, commit: main, dir, branch: "lab/gen-5", depth: 1 });
    const head = await commitFiles(dir, { "s.ts": "export const s = 1;\n" }, "from a shallow clone");
    await pushBranch({ dir, url: f.server.url, token, branch: "lab/gen-5" });
    expect(await sh(f.repo, ["rev-parse", "refs/heads/lab/gen-5"])).toBe(head);
    expect(await sh(f.repo, ["rev-parse", "refs/heads/lab/gen-5~1"])).toBe(main);
  });

  it("refuses main, another generation's branch, a tag and a deletion, and changes no ref", async () => {
    const token = f.server.grant({ generation: 6, push: "lab/gen-6" });
    const dir = await labClone(6, token);
    await pushBranch({ dir, url: f.server.url, token, branch: "lab/gen-6" });
    const other = f.server.grant({ generation: 7, push: "lab/gen-7" });
    await pushBranch({ dir: await labClone(7, other), url: f.server.url, token: other, branch: "lab/gen-7" });
    await commitFiles(dir, { "later.ts": "export const later = 1;\n" }, "later");
    const before = await refs(f.repo);
    const cases: [string[], RegExp][] = [
      [
        ["HEAD:refs/heads/main"],
        /\[remote rejected\] HEAD -> main \(this token may push only refs\/heads\/lab\/gen-6, not refs\/heads\/main\)/,
      ],
      [["+HEAD:refs/heads/lab/gen-7"], /may push only refs\/heads\/lab\/gen-6, not refs\/heads\/lab\/gen-7/],
      [["HEAD:refs/tags/v1"], /may push only refs\/heads\/lab\/gen-6, not refs\/tags\/v1/],
      [[":refs/heads/lab/gen-6"], /deleting refs\/heads\/lab\/gen-6 is refused/],
      // Its own branch together with another ref: the whole push is refused.
      [
        ["HEAD:refs/heads/lab/gen-6", "HEAD:refs/heads/main"],
        /lab\/gen-6 \(not updated: the push was refused/,
      ],
    ];
    for (const [specs, message] of cases) {
      const r = await gitAs(dir, token, ["push", "--", f.server.url, ...specs]);
      expect(r.exitCode, specs.join(" ")).not.toBe(0);
      expect(r.stderr).toMatch(message);
      expect(r.stderr).toMatch(/remote: refused: /);
    }
    expect(await refs(f.repo)).toBe(before);
    expect(await sh(f.repo, ["tag", "--list"])).toBe("");
  });

  it("refuses any push with a fetch-only token", async () => {
    const fetchOnly = f.server.grant({ generation: 8 });
    const dir = await labClone(8, fetchOnly);
    const before = await refs(f.repo);
    await expect(
      pushBranch({ dir, url: f.server.url, token: fetchOnly, branch: "lab/gen-8" }),
    ).rejects.toThrow(/this token may fetch only: generation 8's grant names no branch to push/);
    expect(await refs(f.repo)).toBe(before);
  });

  it("refuses a push past the size limit with 413, and takes nothing of it", async () => {
    const token = f.server.grant({ generation: 9, push: "lab/gen-9" });
    const dir = await labClone(9, token);
    for (const size of [300_000, 3_000_000]) {
      // Random bytes do not compress: the pack is about this size (over 1 MiB, git sends it chunked).
      await writeFile(path.join(dir, "big.bin"), randomBytes(size));
      await sh(dir, ["add", "big.bin"]);
      await sh(dir, ["commit", "-q", "-m", `big ${size}`]);
      await expect(pushBranch({ dir, url: f.server.url, token, branch: "lab/gen-9" })).rejects.toThrow(
        /larger than the endpoint accepts \(HTTP 413/,
      );
      expect(await sh(f.repo, ["for-each-ref", "refs/heads/lab/gen-9"])).toBe("");
    }
    const big = await sh(dir, ["rev-parse", "HEAD:big.bin"]);
    expect((await gitAs(f.repo, undefined, ["cat-file", "-e", big])).exitCode).not.toBe(0);
  });
});

describe("several Labs at once", () => {
  it("lands each generation's push while the others clone and push", async () => {
    const gens = [20, 21, 22];
    const heads = await Promise.all(
      gens.map(async (g) => {
        const token = f.server.grant({ generation: g, push: `lab/gen-${g}` });
        const dir = await labClone(g, token);
        await pushBranch({ dir, url: f.server.url, token, branch: `lab/gen-${g}` });
        return sh(dir, ["rev-parse", "HEAD"]);
      }),
    );
    for (const [i, g] of gens.entries()) {
      expect(await sh(f.repo, ["rev-parse", `refs/heads/lab/gen-${g}`])).toBe(heads[i]);
    }
  });
});

describe("the client's inputs", () => {
  it("refuses what it cannot use, naming it", async () => {
    const token = f.server.grant({ generation: 30 });
    const url = f.server.url;
    const main = await sh(f.repo, ["rev-parse", "main"]);
    await expect(cloneAt({ url, token, dir: fresh() })).rejects.toThrow(
      /commit: pass exactly one of commit or ref/,
    );
    await expect(cloneAt({ url, token, ref: "main", commit: main, dir: fresh() })).rejects.toThrow(
      /exactly one/,
    );
    await expect(cloneAt({ url, token, commit: "abc", dir: fresh() })).rejects.toThrow(
      /commit: expected a full commit id/,
    );
    await expect(cloneAt({ url, token, ref: "--upload-pack=x", dir: fresh() })).rejects.toThrow(
      /ref: expected a ref name/,
    );
    const withUser = url.replace("http://", `http://loom:${token}@`);
    await expect(cloneAt({ url: withUser, token, ref: "main", dir: fresh() })).rejects.toThrow(
      /url: the URL must carry no credentials/,
    );
    await expect(cloneAt({ url: "file:///etc", token, ref: "main", dir: fresh() })).rejects.toThrow(
      /http:\/\/ or https:\/\//,
    );
    await expect(cloneAt({ url, token: "two words", ref: "main", dir: fresh() })).rejects.toThrow(
      /token: expected the token as granted/,
    );
    const used = fresh();
    await cloneAt({ url, token, ref: "main", dir: used });
    await expect(cloneAt({ url, token, ref: "main", dir: used })).rejects.toThrow(
      /is not empty; pass a new or empty folder/,
    );
    await expect(pushBranch({ dir: used, url, token, branch: "lab/gen-30" })).rejects.toThrow(
      /has no branch lab\/gen-30/,
    );
    await expect(pushBranch({ dir: used, url, token, branch: "../x" })).rejects.toThrow(
      /branch: expected a branch name/,
    );
    await expect(cloneAt({ url, token, ref: "no-such-branch", dir: fresh() })).rejects.toMatchObject({
      code: "GIT_TRANSPORT_FAILED",
      message: expect.stringMatching(
        /fetching no-such-branch at http:.* failed: .*couldn't find remote ref no-such-branch/,
      ),
    });
  });
});
