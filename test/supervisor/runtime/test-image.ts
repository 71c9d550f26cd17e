import { createHash } from "node:crypto";
import { promises as fs } from "node:fs";
import os from "node:os";
import path from "node:path";
import { execa } from "execa";

/**
 * Builds `loom-test-base:latest` without a registry: a rootfs of the host's own sh, sleep, cat, echo,
 * env and node (plus the shared libraries `ldd` names), imported with `docker import`. Cached by a
 * label holding the hash of those files, so it rebuilds only when the host binaries change.
 */

export const TEST_IMAGE = "loom-test-base:latest";
const HASH_LABEL = "loom.test-image.hash";

const PROGRAMS: Record<string, string> = {
  sh: "/bin/sh",
  sleep: "sleep",
  cat: "cat",
  echo: "echo",
  env: "env",
  // The swarm runtime's jail: a network namespace with only lo, then the command with no capabilities.
  unshare: "unshare",
  setpriv: "setpriv",
  ip: "ip",
};

/** The executable file on PATH (not a shell builtin), with symlinks resolved. */
async function which(program: string): Promise<string> {
  if (program.startsWith("/")) return fs.realpath(program);
  for (const dir of (process.env.PATH ?? "/usr/bin:/bin").split(":")) {
    const found = await fs.realpath(path.join(dir, program)).catch(() => undefined);
    if (found) return found;
  }
  throw new Error(`test image: ${program} is not on PATH`);
}

/** Libraries a binary loads, as absolute host paths (the loader included). */
async function libsOf(binary: string): Promise<string[]> {
  const { stdout, exitCode } = await execa("ldd", [binary], { reject: false });
  if (exitCode !== 0) return []; // statically linked
  return [...stdout.matchAll(/(\/[^\s)]+)/g)].map((m) => m[1] as string);
}

/** Target path in the image → host file. */
async function rootfsFiles(): Promise<Map<string, string>> {
  const files = new Map<string, string>();
  for (const [name, program] of Object.entries(PROGRAMS)) files.set(`bin/${name}`, await which(program));
  files.set("bin/node", process.execPath);
  for (const binary of [...files.values()]) {
    for (const lib of await libsOf(binary)) files.set(lib.slice(1), lib);
  }
  return files;
}

async function contentHash(files: Map<string, string>): Promise<string> {
  const hash = createHash("sha256");
  for (const [target, source] of [...files].sort(([a], [b]) => a.localeCompare(b))) {
    hash.update(`${target}\0`);
    hash.update(await fs.readFile(source));
  }
  return hash.digest("hex").slice(0, 16);
}

let building: Promise<string> | undefined;

/** Ensures the image exists with the current hash; returns its name. Idempotent and cheap when cached. */
export function ensureTestImage(docker = "docker"): Promise<string> {
  building ??= build(docker);
  return building;
}

async function build(docker: string): Promise<string> {
  const files = await rootfsFiles();
  const hash = await contentHash(files);
  const current = await execa(
    docker,
    ["image", "inspect", "--format", `{{ index .Config.Labels "${HASH_LABEL}" }}`, TEST_IMAGE],
    {
      reject: false,
    },
  );
  if (current.exitCode === 0 && current.stdout.trim() === hash) return TEST_IMAGE;
  const root = await fs.mkdtemp(path.join(os.tmpdir(), "loom-test-rootfs-"));
  try {
    for (const [target, source] of files) {
      await fs.mkdir(path.join(root, path.dirname(target)), { recursive: true });
      await fs.copyFile(source, path.join(root, target));
      await fs.chmod(path.join(root, target), 0o755);
    }
    for (const dir of ["tmp", "work", "etc"]) await fs.mkdir(path.join(root, dir), { recursive: true });
    await fs.chmod(path.join(root, "tmp"), 0o1777);
    // Streamed, never buffered: the rootfs is ~100 MB (node is most of it).
    await execa("tar", ["-C", root, "-c", "."], { buffer: false }).pipe(docker, [
      "import",
      "--change",
      "ENV PATH=/bin",
      "--change",
      `LABEL ${HASH_LABEL}=${hash}`,
      "-",
      TEST_IMAGE,
    ]);
  } finally {
    await fs.rm(root, { recursive: true, force: true });
  }
  return TEST_IMAGE;
}
