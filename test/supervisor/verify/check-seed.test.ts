import { mkdir, mkdtemp, readdir, readFile, rm, stat, symlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  CHECK_CACHE,
  checkSeedDir,
  keepCheckSeed,
  plantCheckSeed,
  seedCommit,
  sweepCheckSeeds,
  usesCheckCache,
} from "../../../src/supervisor/verify/check-seed.ts";

/** The seed's files on disk: planted into a clone, kept from one, never through a link. */
let root: string;
let n = 0;
const A = "a".repeat(40);
const B = "b".repeat(40);

beforeAll(async () => {
  root = await mkdtemp(path.join(tmpdir(), "loom-check-seed-"));
});
afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

/** A fresh state folder and clone, the clone's .loom-cache holding `files`. */
async function setup(files: Record<string, string> = {}) {
  n += 1;
  const stateDir = path.join(root, `state-${n}`);
  const clone = path.join(root, `clone-${n}`);
  for (const [rel, text] of Object.entries(files)) {
    await mkdir(path.dirname(path.join(clone, CHECK_CACHE, rel)), { recursive: true });
    await writeFile(path.join(clone, CHECK_CACHE, rel), text);
  }
  await mkdir(clone, { recursive: true });
  return { stateDir, clone };
}

describe("the check seed", () => {
  it("is opted into by a check script that names .loom-cache", () => {
    expect(usesCheckCache("tsc --noEmit --incremental --tsBuildInfoFile .loom-cache/tsc.tsbuildinfo")).toBe(
      true,
    );
    expect(usesCheckCache("tsc --noEmit -p tsconfig.json")).toBe(false);
    expect(usesCheckCache(undefined)).toBe(false);
    expect(usesCheckCache(42)).toBe(false);
  });

  it("keeps a clone's cache with main's commit, and plants it into another clone, writable", async () => {
    const { stateDir, clone } = await setup({ "tsc.tsbuildinfo": '{"version":"7"}', "sub/x.json": "1" });
    expect(await seedCommit(stateDir, "local")).toBeUndefined();
    expect(await keepCheckSeed(stateDir, "local", clone, A)).toBe(true);
    expect(await seedCommit(stateDir, "local")).toBe(A);
    // Another runtime has its own (its paths differ): none yet.
    expect(await seedCommit(stateDir, "docker")).toBeUndefined();

    const other = path.join(root, `clone-${n}-b`);
    await mkdir(other, { recursive: true });
    expect(await plantCheckSeed(stateDir, "local", other)).toBe(A);
    expect(await readFile(path.join(other, CHECK_CACHE, "tsc.tsbuildinfo"), "utf8")).toBe('{"version":"7"}');
    expect(await readFile(path.join(other, CHECK_CACHE, "sub/x.json"), "utf8")).toBe("1");
    // A container's user, not the Supervisor's, rewrites it.
    expect((await stat(path.join(other, CHECK_CACHE, "tsc.tsbuildinfo"))).mode & 0o777).toBe(0o666);
    expect((await stat(path.join(other, CHECK_CACHE))).mode & 0o777).toBe(0o777);
  });

  it("replaces whatever .loom-cache the candidate's tree holds, and leaves none when there is no seed", async () => {
    const { stateDir, clone } = await setup({ "tsc.tsbuildinfo": "forged by the candidate" });
    expect(await plantCheckSeed(stateDir, "local", clone)).toBeUndefined();
    await expect(stat(path.join(clone, CHECK_CACHE))).rejects.toMatchObject({ code: "ENOENT" });

    const seeded = await setup({ "tsc.tsbuildinfo": "main's" });
    await keepCheckSeed(seeded.stateDir, "local", seeded.clone, A);
    const forged = await setup({ "tsc.tsbuildinfo": "forged", "extra.txt": "planted" });
    expect(await plantCheckSeed(seeded.stateDir, "local", forged.clone)).toBe(A);
    expect(await readdir(path.join(forged.clone, CHECK_CACHE))).toEqual(["tsc.tsbuildinfo"]);
    expect(await readFile(path.join(forged.clone, CHECK_CACHE, "tsc.tsbuildinfo"), "utf8")).toBe("main's");
  });

  it("removes a .loom-cache link without following it", async () => {
    const { stateDir, clone } = await setup();
    const outside = path.join(root, `outside-${n}`);
    await mkdir(outside, { recursive: true });
    await writeFile(path.join(outside, "keep.txt"), "not the clone's");
    await symlink(outside, path.join(clone, CHECK_CACHE));
    await plantCheckSeed(stateDir, "local", clone);
    await expect(stat(path.join(clone, CHECK_CACHE))).rejects.toMatchObject({ code: "ENOENT" });
    expect(await readFile(path.join(outside, "keep.txt"), "utf8")).toBe("not the clone's");
  });

  it("keeps regular files only, nothing over the bound, and an empty cache as no seed", async () => {
    const { stateDir, clone } = await setup({ "tsc.tsbuildinfo": "x".repeat(100) });
    await symlink("/etc/passwd", path.join(clone, CHECK_CACHE, "passwd"));
    expect(await keepCheckSeed(stateDir, "local", clone, A)).toBe(true);
    expect(await readdir(path.join(checkSeedDir(stateDir, "local"), "cache"))).toEqual(["tsc.tsbuildinfo"]);

    const big = await setup({ "tsc.tsbuildinfo": "x".repeat(100) });
    expect(await keepCheckSeed(big.stateDir, "local", big.clone, A, 99)).toBe(false);
    expect(await keepCheckSeed(big.stateDir, "local", big.clone, A, 100)).toBe(true);
    // The bound is on the whole folder, nested files included, not on one file.
    const two = await setup({ "a.json": "x".repeat(60), "nested/b.json": "y".repeat(60) });
    expect(await keepCheckSeed(two.stateDir, "local", two.clone, A, 100)).toBe(false);
    expect(await seedCommit(two.stateDir, "local")).toBeUndefined();
    expect(await keepCheckSeed(two.stateDir, "local", two.clone, A, 120)).toBe(true);
    expect(
      await readFile(path.join(checkSeedDir(two.stateDir, "local"), "cache/nested/b.json"), "utf8"),
    ).toBe("y".repeat(60));

    const empty = await setup();
    expect(await keepCheckSeed(empty.stateDir, "local", empty.clone, A)).toBe(false);
    await mkdir(path.join(empty.clone, CHECK_CACHE));
    expect(await keepCheckSeed(empty.stateDir, "local", empty.clone, A)).toBe(false);
    expect(await seedCommit(empty.stateDir, "local")).toBeUndefined();
  });

  it("replaces the seed whole, and leaves no temporary folder beside it", async () => {
    const first = await setup({ "tsc.tsbuildinfo": "first", "only-first.txt": "1" });
    await keepCheckSeed(first.stateDir, "local", first.clone, A);
    const second = path.join(root, `clone-${n}-second`);
    await mkdir(path.join(second, CHECK_CACHE), { recursive: true });
    await writeFile(path.join(second, CHECK_CACHE, "tsc.tsbuildinfo"), "second");
    expect(await keepCheckSeed(first.stateDir, "local", second, B)).toBe(true);
    expect(await seedCommit(first.stateDir, "local")).toBe(B);
    expect(await readdir(path.join(checkSeedDir(first.stateDir, "local"), "cache"))).toEqual([
      "tsc.tsbuildinfo",
    ]);
    expect(await readdir(path.dirname(checkSeedDir(first.stateDir, "local")))).toEqual(["local"]);
  });

  it("sweeps what a keep killed half way left beside the seeds, and nothing else", async () => {
    const { stateDir, clone } = await setup({ "tsc.tsbuildinfo": "main's" });
    await keepCheckSeed(stateDir, "local", clone, A);
    const dir = path.dirname(checkSeedDir(stateDir, "local"));
    const stale = ["local.tmp-0a1b2c3d", "docker.old-deadbeef"];
    const kept = [
      "local",
      "notes.tmp-0a1b2c3d.txt",
      "local.tmp-0a1b2c3",
      "local.new-0a1b2c3d",
      "x.tmp-0a1b2c3g",
    ];
    for (const name of [...stale, ...kept.slice(1)]) await mkdir(path.join(dir, name), { recursive: true });
    expect((await sweepCheckSeeds(stateDir)).sort()).toEqual([...stale].sort());
    expect((await readdir(dir)).sort()).toEqual([...kept].sort());
    expect(await seedCommit(stateDir, "local")).toBe(A);
    // No seed folder at all: nothing to do.
    expect(await sweepCheckSeeds(path.join(root, "never-made"))).toEqual([]);
  });

  it("reads no commit from a seed whose commit file is not a commit", async () => {
    const { stateDir } = await setup();
    await mkdir(checkSeedDir(stateDir, "local"), { recursive: true });
    await writeFile(path.join(checkSeedDir(stateDir, "local"), "commit"), "not-a-sha\n");
    expect(await seedCommit(stateDir, "local")).toBeUndefined();
    for (const text of [`x${A}`, `${A}x`, "a".repeat(39)]) {
      await writeFile(path.join(checkSeedDir(stateDir, "local"), "commit"), text);
      expect(await seedCommit(stateDir, "local")).toBeUndefined();
    }
    await writeFile(path.join(checkSeedDir(stateDir, "local"), "commit"), `${A}\n`);
    expect(await seedCommit(stateDir, "local")).toBe(A);
    // A commit without its cache folder plants nothing (and does not throw).
    const clone = path.join(root, `clone-${n}-nocache`);
    await mkdir(clone, { recursive: true });
    expect(await plantCheckSeed(stateDir, "local", clone)).toBeUndefined();
    await expect(stat(path.join(clone, CHECK_CACHE))).rejects.toMatchObject({ code: "ENOENT" });
  });
});
