import { execFileSync, spawnSync } from "node:child_process";
import { promises as fs } from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { checkNodeLibraries } from "../../../lab-runtime/image/debian-base.ts";
import { ensureRootfsTarball, rootfsTarballPath } from "../../../lab-runtime/image/debian-rootfs.ts";
import { readHostMirror } from "../../../lab-runtime/image/host-mirror.ts";
import { removeRootfs } from "../../../lab-runtime/image/remove-rootfs.ts";

const REPO = fileURLToPath(new URL("../../..", import.meta.url));
const isRoot = process.getuid?.() === 0;
const hasDebootstrap = spawnSync("debootstrap", ["--version"]).status === 0;
const hasLdd = spawnSync("ldd", [process.execPath]).status === 0;

let tmp: string;
beforeEach(async () => {
  tmp = await fs.mkdtemp(path.join(os.tmpdir(), "loom-debian-"));
});
afterEach(async () => {
  await fs.rm(tmp, { recursive: true, force: true });
});

async function put(rel: string, text: string): Promise<void> {
  await fs.mkdir(path.dirname(path.join(tmp, rel)), { recursive: true });
  await fs.writeFile(path.join(tmp, rel), text);
}

describe("readHostMirror", () => {
  it("reads deb822 and one-line sources for the suite, skipping disabled files and other suites", async () => {
    await put("apt/sources.list", "# deb http://commented.example/debian bookworm main\n");
    await put(
      "apt/sources.list.d/debian.sources",
      "Types: deb\nURIs: http://mirror.test/debian\nSuites: bookworm bookworm-updates\nComponents: main\n\n" +
        "Types: deb\nURIs: http://security.test/debian-security\nSuites: bookworm-security\n",
    );
    await put("apt/sources.list.d/z.list.disabled", "deb http://disabled.test/debian trixie main\n");
    await put(
      "apt/sources.list.d/a.list",
      "deb [arch=amd64 signed-by=/k.gpg] http://oneline.test/debian trixie main\n",
    );
    const apt = path.join(tmp, "apt");
    expect(await readHostMirror("bookworm", apt)).toBe("http://mirror.test/debian");
    expect(await readHostMirror("trixie", apt)).toBe("http://oneline.test/debian");
    expect(await readHostMirror("bullseye", apt)).toBeUndefined();
    expect(await readHostMirror("bookworm", path.join(tmp, "no-such-dir"))).toBeUndefined();
  });

  it("skips deb822 paragraphs marked Enabled: no", async () => {
    await put(
      "apt/sources.list.d/x.sources",
      "Enabled: no\nTypes: deb\nURIs: http://off.test/debian\nSuites: bookworm\n",
    );
    expect(await readHostMirror("bookworm", path.join(tmp, "apt"))).toBeUndefined();
  });
});

describe("ensureRootfsTarball", () => {
  const base = { suite: "bookworm", packages: ["git"], log: () => {} };

  it("says to apt-get install debootstrap when it is missing, leaving no files behind", async () => {
    const cacheDir = path.join(tmp, "cache");
    await expect(
      ensureRootfsTarball({ ...base, cacheDir, debootstrap: path.join(tmp, "no-debootstrap") }),
    ).rejects.toMatchObject({
      code: "TOOL_MISSING",
      message: expect.stringContaining("apt-get install debootstrap"),
    });
    await expect(fs.readdir(cacheDir)).rejects.toThrow();
  });

  it("reuses a cached tarball without running debootstrap", async () => {
    const cacheDir = path.join(tmp, "cache");
    const tarball = rootfsTarballPath(cacheDir, "bookworm", ["git"]);
    await fs.mkdir(cacheDir);
    await fs.writeFile(tarball, "cached");
    // A missing debootstrap would throw, so success proves it was not needed.
    const got = await ensureRootfsTarball({
      ...base,
      cacheDir,
      debootstrap: path.join(tmp, "no-debootstrap"),
    });
    expect(got).toEqual({ tarball, cached: true });
    expect(rootfsTarballPath(cacheDir, "bookworm", ["git", "curl"])).not.toBe(tarball);
    expect(rootfsTarballPath(cacheDir, "trixie", ["git"])).not.toBe(tarball);
  });

  // nobody must be able to read the checkout (a clone inside a private temp folder is not).
  const repoReadableByNobody =
    isRoot &&
    spawnSync("/bin/sh", ["-c", 'test -r "$1/package.json"', "sh", REPO], { uid: 65534, gid: 65534 })
      .status === 0;
  it.skipIf(!repoReadableByNobody)(
    "refuses to run debootstrap as a non-root user, saying how to proceed",
    async () => {
      // Run as nobody in a child process: this test process is root.
      const script = `import { ensureRootfsTarball } from ${JSON.stringify(path.join(REPO, "lab-runtime/image/debian-rootfs.ts"))};
      await ensureRootfsTarball({ suite: "bookworm", packages: ["git"], log() {}, cacheDir: ${JSON.stringify(path.join(tmp, "c"))}, debootstrap: "/bin/true" })
        .then(() => console.log("no error"), (e) => console.log(e.code, e.message));`;
      // mkdtemp made tmp private to root; nobody needs a home and a temp dir (tsx caches there).
      const nobodyHome = path.join(tmp, "nobody");
      await fs.chmod(tmp, 0o755);
      await fs.mkdir(nobodyHome, { mode: 0o777 });
      await fs.chmod(nobodyHome, 0o777);
      const out = spawnSync(process.execPath, ["--import", "tsx", "--input-type=module", "-e", script], {
        cwd: REPO,
        uid: 65534,
        gid: 65534,
        env: { ...process.env, HOME: nobodyHome, TMPDIR: nobodyHome },
        encoding: "utf8",
        timeout: 20_000,
      });
      expect(out.stdout, out.stderr).toMatch(/^DEBOOTSTRAP_NEEDS_ROOT .*sudo npm run image/);
    },
  );

  it.skipIf(!isRoot || !hasDebootstrap)(
    "reports a failing debootstrap and removes its half-made rootfs",
    async () => {
      const cacheDir = path.join(tmp, "cache");
      await expect(
        ensureRootfsTarball({ ...base, suite: "no-such-suite", cacheDir, debootstrap: "debootstrap" }),
      ).rejects.toMatchObject({
        code: "COMMAND_FAILED",
        message: expect.stringContaining("debootstrap no-such-suite"),
      });
      expect(await fs.readdir(cacheDir)).toEqual([]);
    },
  );
});

describe("checkNodeLibraries", () => {
  async function tarballWith(libs: string[]): Promise<string> {
    for (const lib of libs) await put(`root/usr/lib/x86_64-linux-gnu/${lib}`, "");
    await put("root/etc/hostname", "x");
    const tarball = path.join(tmp, "rootfs.tar");
    execFileSync("tar", ["-C", path.join(tmp, "root"), "-cf", tarball, "."]);
    return tarball;
  }
  const needed = hasLdd
    ? execFileSync("ldd", [process.execPath], { encoding: "utf8" })
        .split("\n")
        .map((l) => path.basename(l.trim().split(/\s+/)[0] ?? ""))
        .filter((n) => n.includes(".so") && !n.startsWith("linux-vdso"))
    : [];

  it.skipIf(!hasLdd)("names the libraries node needs that the rootfs lacks", async () => {
    expect(needed).toContain("libstdc++.so.6");
    const tarball = await tarballWith(needed.filter((n) => n !== "libstdc++.so.6"));
    await expect(checkNodeLibraries(process.execPath, tarball)).rejects.toMatchObject({
      code: "NODE_LIBS_MISSING",
      message: expect.stringMatching(/needs libstdc\+\+\.so\.6,? .*libstdc\+\+6/),
    });
  });

  it.skipIf(!hasLdd)("passes when every library is present", async () => {
    await expect(checkNodeLibraries(process.execPath, await tarballWith(needed))).resolves.toBeUndefined();
  });
});

describe("removeRootfs", () => {
  it("deletes a rootfs directory", async () => {
    await put("rootfs/etc/passwd", "root:x:0:0");
    await removeRootfs(path.join(tmp, "rootfs"));
    await expect(fs.stat(path.join(tmp, "rootfs"))).rejects.toThrow();
  });

  const canMount = isRoot && spawnSync("mount", ["--version"]).status === 0;
  it.skipIf(!canMount)("unmounts what a killed debootstrap left mounted before deleting", async (ctx) => {
    await put("rootfs/proc/.keep", "");
    const mountpoint = path.join(tmp, "rootfs/proc");
    const mounted = spawnSync("mount", ["-t", "tmpfs", "loom-test", mountpoint]).status === 0;
    if (!mounted) ctx.skip("mount is not permitted here");
    await fs.writeFile(path.join(mountpoint, "inside"), "x");
    await removeRootfs(path.join(tmp, "rootfs"));
    await expect(fs.stat(path.join(tmp, "rootfs"))).rejects.toThrow();
    expect(await fs.readFile("/proc/self/mounts", "utf8")).not.toContain(mountpoint);
  });
});
