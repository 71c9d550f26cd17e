import { spawnSync } from "node:child_process";
import { promises as fs } from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  buildLabImage,
  CONTENT_HASH_LABEL,
  REVISION_LABEL,
} from "../../../lab-runtime/image/build-lab-image.ts";

const REPO = fileURLToPath(new URL("../../..", import.meta.url));
const TAG = "loom-lab:latest";
// The first build here may debootstrap a Debian base: minutes, not seconds.
const FIRST_BUILD_MS = 20 * 60_000;

function sh(cmd: string, args: string[], timeout = 60_000) {
  const out = spawnSync(cmd, args, { cwd: REPO, encoding: "utf8", timeout });
  return { code: out.status, stdout: out.stdout ?? "", stderr: out.stderr ?? "", error: out.error };
}

const probe = sh("docker", ["version", "--format", "{{.Server.Version}}"], 30_000);
const dockerProblem = probe.error
  ? `docker CLI not found (${probe.error.message})`
  : probe.code !== 0
    ? `docker daemon not reachable: ${probe.stderr.trim()}`
    : undefined;
const required = process.env.LOOM_REQUIRE_ENGINES === "1";
const skip = dockerProblem !== undefined && !required;
if (skip)
  console.warn(
    `test/lab-runtime/image/image.test.ts skipped: ${dockerProblem} (set LOOM_REQUIRE_ENGINES=1 to fail instead)`,
  );

function image(args: string[], timeout: number) {
  const started = Date.now();
  const out = spawnSync(process.execPath, ["--import", "tsx", "scripts/build-image.ts", ...args], {
    cwd: REPO,
    encoding: "utf8",
    timeout,
  });
  return { code: out.status, stdout: out.stdout, stderr: out.stderr, ms: Date.now() - started };
}

describe.skipIf(skip)(`the Lab image${skip ? ` (skipped: ${dockerProblem})` : ""}`, () => {
  let build: ReturnType<typeof image>;
  beforeAll(() => {
    if (dockerProblem) throw new Error(`LOOM_REQUIRE_ENGINES=1 but ${dockerProblem}`);
    build = image([], FIRST_BUILD_MS);
    console.info(`npm run image took ${(build.ms / 1000).toFixed(1)}s: ${build.stdout.trim()}`);
  }, FIRST_BUILD_MS + 60_000);

  it("is built, labelled with the source commit and a content hash, phases timed", () => {
    expect(build.code, build.stderr).toBe(0);
    expect(build.stdout).toMatch(
      /^loom-lab:latest sha256:[0-9a-f]{64} (built|image up to date) in [\d.]+s$/m,
    );
    expect(build.stderr).toMatch(/^image: phase docker: [\d.]+s$/m);
    expect(build.stderr).toMatch(/^image: phase hash: [\d.]+s$/m);
    const labels = JSON.parse(
      sh("docker", ["image", "inspect", "--format", "{{json .Config.Labels}}", TAG]).stdout,
    ) as Record<string, string>;
    expect(labels[CONTENT_HASH_LABEL]).toMatch(/^[0-9a-f]{64}$/);
    const head = sh("git", ["rev-parse", "HEAD"]).stdout.trim();
    if (build.stdout.includes("image up to date")) {
      // Unchanged content keeps the image built from an earlier commit (a clone may not have it).
      expect(labels[REVISION_LABEL]).toMatch(/^[0-9a-f]{40}(-dirty)?$/);
    } else {
      expect(labels[REVISION_LABEL]).toMatch(new RegExp(`^${head}(-dirty)?$`));
    }
  });

  it("runs the loom CLI: --help lists the lab command", () => {
    const r = sh("docker", ["run", "--rm", "--network", "host", TAG, "--help"]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^\s+lab \[options\]\s+Run a Lab/m);
  });

  it("has node and git, and runs as a non-root user in /workspace", () => {
    const node = sh("docker", ["run", "--rm", "--network", "none", "--entrypoint", "node", TAG, "--version"]);
    expect(node.stdout.trim()).toMatch(/^v(\d+)\.\d+\.\d+$/);
    expect(Number(/^v(\d+)/.exec(node.stdout)?.[1])).toBeGreaterThanOrEqual(20);
    const git = sh("docker", ["run", "--rm", "--network", "none", "--entrypoint", "git", TAG, "--version"]);
    expect(git.stdout).toMatch(/^git version \d+\.\d+/);
    const who = sh("docker", [
      "run",
      "--rm",
      "--network",
      "none",
      "--entrypoint",
      "sh",
      TAG,
      "-c",
      "id -u; id -un; pwd",
    ]);
    const [uid, name, cwd] = who.stdout.trim().split("\n");
    expect(Number(uid)).toBeGreaterThan(0);
    expect(name).toBe("loom");
    expect(cwd).toBe("/workspace");
  });

  it("lets git work in a workspace mounted from the host with another owner", async () => {
    const ws = await fs.mkdtemp(path.join(os.tmpdir(), "loom-image-ws-"));
    try {
      // Readable by the image's user, but owned by root: git's "dubious ownership" case.
      await fs.chmod(ws, 0o755);
      sh("git", ["init", "-q", ws]);
      const r = sh("docker", [
        "run",
        "--rm",
        "--network",
        "none",
        "-v",
        `${ws}:/workspace`,
        "--entrypoint",
        "git",
        TAG,
        "status",
        "--short",
        "--branch",
      ]);
      expect(r.stderr).not.toContain("dubious ownership");
      expect(r.code, r.stderr).toBe(0);
      expect(r.stdout).toMatch(/^## No commits yet on /);
    } finally {
      await fs.rm(ws, { recursive: true, force: true });
    }
  });

  it("refuses a --base that is neither here nor pullable, saying what to do", () => {
    const r = image(
      ["--base", "loom-no-such-base:none", "--pull-timeout", "10", "--tag", "loom-lab-test:never"],
      60_000,
    );
    expect(r.code).toBe(1);
    expect(r.stderr).toContain("--base loom-no-such-base:none: no such image here and pulling it failed");
    expect(sh("docker", ["image", "inspect", "loom-lab-test:never"]).code).not.toBe(0);
  });

  it("says when the Containerfile is missing", async () => {
    const root = await fs.mkdtemp(path.join(os.tmpdir(), "loom-image-nofile-"));
    try {
      for (const f of ["package.json", "package-lock.json"])
        await fs.copyFile(path.join(REPO, f), path.join(root, f));
      await fs.symlink(path.join(REPO, "node_modules"), path.join(root, "node_modules"));
      const base = JSON.parse(
        sh("docker", ["image", "inspect", "--format", "{{json .Config.Labels}}", TAG]).stdout,
      )["org.loom.base"] as string;
      await expect(
        buildLabImage({
          ...{ repoRoot: root, tag: "loom-lab-test:never", base, registryBase: "node:20-slim" },
          ...{
            debianTag: "loom-base:bookworm",
            suite: "bookworm",
            packages: ["git"],
            entry: "source",
            uid: 10001,
          },
          ...{
            docker: "docker",
            debootstrap: "debootstrap",
            nodeBinary: process.execPath,
            pullTimeoutMs: 10_000,
          },
          ...{ force: false, log: () => {} },
        }),
      ).rejects.toMatchObject({
        code: "CONTAINERFILE_MISSING",
        message: expect.stringContaining("lab-runtime/Containerfile is missing"),
      });
    } finally {
      await fs.rm(root, { recursive: true, force: true });
    }
  });

  describe("from a built bundle", () => {
    const bundleTag = `loom-lab-test-${process.pid}:bundle`;
    let root: string;
    beforeAll(async () => {
      root = await fs.mkdtemp(path.join(os.tmpdir(), "loom-image-bundle-"));
      for (const f of ["package.json", "package-lock.json", ".dockerignore", "lab-runtime/Containerfile"]) {
        await fs.mkdir(path.dirname(path.join(root, f)), { recursive: true });
        await fs.copyFile(path.join(REPO, f), path.join(root, f));
      }
      await fs.symlink(path.join(REPO, "node_modules"), path.join(root, "node_modules"));
      const built = sh(
        process.execPath,
        ["--import", "tsx", "scripts/build.ts", "--outdir", path.join(root, "dist")],
        120_000,
      );
      if (built.code !== 0) throw new Error(`npm run build failed: ${built.stderr}`);
    }, 180_000);
    afterAll(async () => {
      sh("docker", ["image", "rm", "--force", bundleTag]);
      if (root) await fs.rm(root, { recursive: true, force: true });
    });

    it("runs dist/lab.mjs, carries no other bundle, and skips an unchanged rebuild", async () => {
      // Same base as the image above, so this never debootstraps on its own.
      const base = JSON.parse(
        sh("docker", ["image", "inspect", "--format", "{{json .Config.Labels}}", TAG]).stdout,
      )["org.loom.base"] as string;
      const options = {
        repoRoot: root,
        tag: bundleTag,
        base,
        registryBase: "node:20-slim",
        debianTag: "loom-base:bookworm",
        suite: "bookworm",
        packages: ["git"],
        entry: "bundle" as const,
        uid: 10001,
        docker: "docker",
        debootstrap: "debootstrap",
        nodeBinary: process.execPath,
        pullTimeoutMs: 10_000,
        force: false,
        log: () => {},
      };
      const first = await buildLabImage(options);
      expect(first.upToDate).toBe(false);
      expect(first.revision).toBe("unknown");
      const help = sh("docker", ["run", "--rm", "--network", "none", bundleTag, "--help"]);
      expect(help.code, help.stderr).toBe(0);
      expect(help.stdout).toMatch(/^\s+lab \[options\]/m);
      const entry = sh("docker", [
        "run",
        "--rm",
        "--entrypoint",
        "sh",
        bundleTag,
        "-c",
        "readlink /opt/loom/entry.mjs; ls /opt/loom/dist; ls /opt/loom/dist/chunks",
      ]);
      const [link, ...listed] = entry.stdout.trim().split("\n");
      expect(link).toBe("/opt/loom/dist/lab.mjs");
      // The Lab's entry, its lazily loaded chunks, the compile cache the build recorded (read by its
      // TypeScript thread), and nothing of the other bundles.
      expect(listed.slice(0, 4)).toEqual(["chunks", "compile-cache", "lab.mjs", "lab.mjs.map"]);
      const chunks = listed.slice(4);
      expect(chunks.length).toBeGreaterThan(0);
      expect(chunks.filter((c) => !c.startsWith("lab-"))).toEqual([]);
      // npm, which verification runs package.json scripts with, even on a base that has only node.
      const npm = sh("docker", [
        "run",
        "--rm",
        "--network",
        "none",
        "--entrypoint",
        "npm",
        bundleTag,
        "--version",
      ]);
      expect(npm.code, npm.stderr).toBe(0);
      expect(npm.stdout.trim()).toMatch(/^\d+\.\d+\.\d+$/);

      const started = Date.now();
      const second = await buildLabImage(options);
      expect(second).toMatchObject({ upToDate: true, id: first.id, contentHash: first.contentHash });
      expect(Date.now() - started).toBeLessThan(15_000);
      await fs.appendFile(path.join(root, "dist/lab.mjs"), "\n// changed\n");
      const third = await buildLabImage(options);
      expect(third.upToDate).toBe(false);
      expect(third.contentHash).not.toBe(first.contentHash);
    }, 240_000);
  });
});
