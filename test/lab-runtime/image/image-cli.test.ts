import { spawnSync } from "node:child_process";
import { promises as fs } from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

const REPO = fileURLToPath(new URL("../../..", import.meta.url));
const hasDocker = spawnSync("docker", ["--version"]).status === 0;

let tmp: string;
beforeAll(async () => {
  tmp = await fs.mkdtemp(path.join(os.tmpdir(), "loom-image-cli-"));
});
afterAll(async () => {
  await fs.rm(tmp, { recursive: true, force: true });
});

/** `npm run image` itself (minus npm), as a child process. */
function image(args: string[], env: NodeJS.ProcessEnv = process.env) {
  const out = spawnSync(process.execPath, ["--import", "tsx", "scripts/build-image.ts", ...args], {
    cwd: REPO,
    env,
    encoding: "utf8",
    timeout: 60_000,
  });
  return { code: out.status, stdout: out.stdout, stderr: out.stderr };
}

describe("npm run image: bad input", () => {
  it("rejects an unknown --entry, listing the accepted ones", () => {
    const r = image(["--entry", "binary"]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('--entry must be one of auto, bundle, source (got "binary")');
  });

  it("refuses uid 0 for the image's user", () => {
    const r = image(["--uid", "0"]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("--uid must be a whole number from 1 to");
  });

  it("rejects a malformed --packages list", () => {
    const r = image(["--packages", "git,Bad Name"]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('--packages must be comma-separated Debian package names (bad: "Bad Name")');
  });

  it("rejects unknown flags", () => {
    const r = image(["--registry", "x"]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/unknown option '--registry'/);
  });

  it("--help describes the fallback and exits 0", () => {
    const r = image(["--help"]);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain("--pull-timeout");
    expect(r.stdout).toContain("Debian packages");
  });
});

describe("npm run image: no docker", () => {
  it("says docker is missing and how to get it", async () => {
    const emptyBin = path.join(tmp, "bin");
    await fs.mkdir(emptyBin, { recursive: true });
    const r = image([], { ...process.env, PATH: emptyBin });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('docker was not found (looked for "docker" on PATH): install Docker');
    expect(r.stdout).toBe("");
  });

  it.skipIf(!hasDocker)("says the daemon does not answer when the CLI is there but dockerd is not", () => {
    const r = image([], { ...process.env, DOCKER_HOST: `unix://${path.join(tmp, "no-daemon.sock")}` });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain("docker is installed but its daemon did not answer");
  });
});
