import { createHash, randomBytes } from "node:crypto";
import { createReadStream, promises as fs } from "node:fs";
import path from "node:path";
import { LoomError } from "../../src/shared/errors.ts";
import { ensureRootfsTarball } from "./debian-rootfs.ts";
import { inspectImage } from "./docker.ts";
import { run, runOk } from "./run.ts";

export const BASE_KEY_LABEL = "org.loom.base-key";

export interface DebianBaseOptions {
  docker: string;
  debootstrap: string;
  /** The image to make, e.g. `loom-base:bookworm`. */
  tag: string;
  suite: string;
  packages: readonly string[];
  cacheDir: string;
  /** The node binary copied to /usr/local/bin/node (the host's own, so no registry or download is needed). */
  nodeBinary: string;
  mirror?: string;
  log: (line: string) => void;
}

/**
 * Makes (or finds) a base image from Debian packages plus the host's node: debootstrap's rootfs (cached),
 * node appended at /usr/local/bin/node, `docker import`. An image already labelled with the same suite,
 * packages and node binary is reused as is.
 */
export async function ensureDebianBase(opts: DebianBaseOptions): Promise<{ id: string; built: boolean }> {
  const nodeDigest = await sha256File(opts.nodeBinary);
  const key = createHash("sha256")
    .update(JSON.stringify({ suite: opts.suite, packages: [...opts.packages].sort(), node: nodeDigest }))
    .digest("hex");
  const existing = await inspectImage(opts.docker, opts.tag);
  if (existing?.labels[BASE_KEY_LABEL] === key) return { id: existing.id, built: false };

  const { tarball, cached } = await ensureRootfsTarball(opts);
  opts.log(cached ? `rootfs from cache: ${tarball}` : `rootfs cached at ${tarball}`);
  await checkNodeLibraries(opts.nodeBinary, tarball);

  const nonce = `${process.pid}-${randomBytes(4).toString("hex")}`;
  const withNode = path.join(opts.cacheDir, `import-${nonce}.tar`);
  const nodeRoot = path.join(opts.cacheDir, `node-${nonce}`);
  try {
    await fs.mkdir(path.join(nodeRoot, "usr/local/bin"), { recursive: true });
    await fs.copyFile(opts.nodeBinary, path.join(nodeRoot, "usr/local/bin/node"));
    await fs.chmod(path.join(nodeRoot, "usr/local/bin/node"), 0o755);
    await fs.copyFile(tarball, withNode);
    await runOk("tar (adding node to the rootfs)", "tar", [
      "-rf",
      withNode,
      "-C",
      nodeRoot,
      "--owner=0",
      "--group=0",
      "--numeric-owner",
      "./usr/local/bin/node",
    ]);
    await runOk("docker import", opts.docker, [
      "import",
      "--change",
      "ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
      "--change",
      "ENV LANG=C.UTF-8",
      "--change",
      `LABEL ${BASE_KEY_LABEL}=${key}`,
      "--change",
      'CMD ["node"]',
      withNode,
      opts.tag,
    ]);
  } finally {
    await fs.rm(withNode, { force: true });
    await fs.rm(nodeRoot, { recursive: true, force: true });
  }
  // The real test of the ldd check: node starts inside the new base.
  const version = await runOk(`node inside ${opts.tag}`, opts.docker, [
    "run",
    "--rm",
    "--network",
    "none",
    opts.tag,
    "node",
    "--version",
  ]);
  opts.log(`${opts.tag}: node ${version.trim()}`);
  const made = await inspectImage(opts.docker, opts.tag);
  if (!made)
    throw new LoomError(
      "BASE_IMAGE_MISSING",
      `docker import reported success but ${opts.tag} does not exist`,
    );
  return { id: made.id, built: true };
}

/**
 * Every shared library the host's node links against must exist in the rootfs (libstdc++6 is the usual
 * miss); checked by file name against the tarball, so the error names the library instead of a
 * "not found" from the dynamic loader at container start.
 */
export async function checkNodeLibraries(nodeBinary: string, tarball: string): Promise<void> {
  const ldd = await run("ldd", [nodeBinary]).catch(() => undefined);
  // No ldd (or a static node): nothing to check here; the smoke run after import still catches problems.
  if (ldd?.code !== 0) return;
  const needed = ldd.stdout
    .split("\n")
    .map((line) => line.trim().split(/\s+/)[0] ?? "")
    .filter(
      (name) => name.includes(".so") && !name.startsWith("linux-vdso") && !name.startsWith("linux-gate"),
    )
    .map((name) => path.basename(name));
  // Streamed line by line: the listing is far longer than the output tail `run` keeps.
  const present = new Set<string>();
  await runOk("tar (listing the rootfs)", "tar", ["-tf", tarball], {
    onLine: (p) => {
      if (/(^|\/)lib(32|64|x32)?\//.test(p)) present.add(path.basename(p));
    },
  });
  const missing = needed.filter((lib) => !present.has(lib));
  if (missing.length > 0) {
    throw new LoomError(
      "NODE_LIBS_MISSING",
      `the host's node (${nodeBinary}) needs ${missing.join(", ")}, which the Debian rootfs ${tarball} lacks: add the packages that provide them to --packages (libstdc++.so.6 is in libstdc++6)`,
    );
  }
}

async function sha256File(file: string): Promise<string> {
  const hash = createHash("sha256");
  for await (const chunk of createReadStream(file)) hash.update(chunk as Buffer);
  return hash.digest("hex");
}
