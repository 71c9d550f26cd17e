import { createHash } from "node:crypto";
import { promises as fs } from "node:fs";
import path from "node:path";
import { LoomError } from "../../src/shared/errors.ts";
import { withBuildLock } from "./build-lock.ts";
import { ensureDebianBase } from "./debian-base.ts";
import { assertDockerReady, inspectImage, tryPull } from "./docker.ts";
import { runOk } from "./run.ts";
import { type EntryMode, hashStage, planStage, writeStage } from "./stage-files.ts";
import { findHostNpm, planNpm } from "./stage-npm.ts";

export const CONTENT_HASH_LABEL = "org.loom.content-hash";
export const REVISION_LABEL = "org.opencontainers.image.revision";
/** Where the image's files are staged, relative to the repo; the Containerfile copies from here. */
export const STAGE_DIR = ".loom/image/stage";

// The legacy builder's per-step bookkeeping; the steps and their output stay visible.
const QUIET_BUILD_LINE = /^\s*(---> (Running in |[0-9a-f]{12}$)|Removing intermediate container)/;

export interface BuildImageOptions {
  repoRoot: string;
  /** The image to make, e.g. `loom-lab:latest`. */
  tag: string;
  /** A base to use as is (must exist locally or be pullable); otherwise `registryBase`, else Debian's. */
  base?: string;
  registryBase: string;
  /** Tag for the base made from Debian packages when `registryBase` cannot be had. */
  debianTag: string;
  suite: string;
  packages: readonly string[];
  entry: EntryMode;
  uid: number;
  docker: string;
  debootstrap: string;
  /** Node binary for the Debian base; the host's own by default. */
  nodeBinary: string;
  /** The npm package folder the image carries at /opt/npm; found on the host when left out. */
  npmRoot?: string;
  pullTimeoutMs: number;
  /** Rebuild even when the image's content hash matches. */
  force: boolean;
  log: (line: string) => void;
}

export interface BuildImageResult {
  tag: string;
  id: string;
  upToDate: boolean;
  base: string;
  contentHash: string;
  revision: string;
  phases: { name: string; ms: number }[];
}

/**
 * Builds the Lab image from lab-runtime/Containerfile with no registry needed: stages package.json, the
 * bundle (or sources) and production node_modules, hashes them with everything else that shapes the image,
 * and skips the build when the existing image carries the same hash.
 */
export async function buildLabImage(opts: BuildImageOptions): Promise<BuildImageResult> {
  const root = path.resolve(opts.repoRoot);
  const phases: BuildImageResult["phases"] = [];
  const phase = async <T>(name: string, work: () => Promise<T>): Promise<T> => {
    const started = performance.now();
    try {
      return await work();
    } finally {
      const ms = performance.now() - started;
      phases.push({ name, ms });
      opts.log(`phase ${name}: ${(ms / 1000).toFixed(1)}s`);
    }
  };

  await phase("docker", () => assertDockerReady(opts.docker));
  return withBuildLock(path.join(root, ".loom/image/lock"), { timeoutMs: 30 * 60_000, log: opts.log }, () =>
    buildLocked(opts, root, phase, phases),
  );
}

async function buildLocked(
  opts: BuildImageOptions,
  root: string,
  phase: <T>(name: string, work: () => Promise<T>) => Promise<T>,
  phases: BuildImageResult["phases"],
): Promise<BuildImageResult> {
  const base = await phase("base", () => resolveBase(opts));
  opts.log(`base image: ${base.ref}`);
  const { plan, contentHash } = await phase("hash", async () => {
    const plan = await planStage(root, opts.entry);
    plan.files.push(...(await planNpm(opts.npmRoot ?? (await findHostNpm()))));
    const files = await hashStage(plan);
    const containerfilePath = path.join(root, "lab-runtime/Containerfile");
    const containerfile = await fs.readFile(containerfilePath, "utf8").catch(() => {
      throw new LoomError(
        "CONTAINERFILE_MISSING",
        `${containerfilePath} is missing: the image is built from it`,
      );
    });
    const ignore = await fs.readFile(path.join(root, ".dockerignore"), "utf8").catch(() => "");
    const contentHash = createHash("sha256")
      .update(
        JSON.stringify({ files, containerfile, ignore, base: base.id, uid: opts.uid, entry: plan.entry }),
      )
      .digest("hex");
    return { plan, contentHash };
  });
  const revision = await gitRevision(root);

  const existing = await inspectImage(opts.docker, opts.tag);
  if (!opts.force && existing?.labels[CONTENT_HASH_LABEL] === contentHash) {
    opts.log(`image up to date: ${opts.tag} (${plan.mode}, content ${contentHash.slice(0, 12)})`);
    return { tag: opts.tag, id: existing.id, upToDate: true, base: base.ref, contentHash, revision, phases };
  }

  // One fixed stage path (held under the build lock): docker's COPY cache key includes source paths,
  // so a fixed path lets an unchanged node_modules layer be reused. .dockerignore lets it through.
  const stageDir = path.join(root, STAGE_DIR);
  await fs.rm(stageDir, { recursive: true, force: true });
  try {
    await phase("stage", () => writeStage(plan, stageDir));
    const buildArgs = { BASE: base.ref, LAB_UID: String(opts.uid) };
    const labels = {
      [CONTENT_HASH_LABEL]: contentHash,
      [REVISION_LABEL]: revision,
      "org.loom.entry": plan.entry,
      "org.loom.base": base.ref,
    };
    const args = [
      "build",
      ...["--file", path.join(root, "lab-runtime/Containerfile"), "--tag", opts.tag],
      ...Object.entries(buildArgs).flatMap(([k, v]) => ["--build-arg", `${k}=${v}`]),
      ...Object.entries(labels).flatMap(([k, v]) => ["--label", `${k}=${v}`]),
      root,
    ];
    await phase("build", () =>
      runOk(`docker build of ${opts.tag}`, opts.docker, args, {
        timeoutMs: 20 * 60_000,
        onLine: (line) => QUIET_BUILD_LINE.test(line) || opts.log(`  ${line}`),
      }),
    );
  } finally {
    await fs.rm(stageDir, { recursive: true, force: true });
  }
  const made = await inspectImage(opts.docker, opts.tag);
  const id = made?.id ?? "unknown";
  opts.log(`built ${opts.tag} ${id.slice(0, 19)} (${plan.mode}, ${revision})`);
  return { tag: opts.tag, id, upToDate: false, base: base.ref, contentHash, revision, phases };
}

async function resolveBase(opts: BuildImageOptions): Promise<{ ref: string; id: string }> {
  const wanted = opts.base ?? opts.registryBase;
  const local = await inspectImage(opts.docker, wanted);
  if (local) return { ref: wanted, id: local.id };
  if (await tryPull(opts.docker, wanted, opts.pullTimeoutMs)) {
    const pulled = await inspectImage(opts.docker, wanted);
    if (pulled) return { ref: wanted, id: pulled.id };
  }
  if (opts.base !== undefined) {
    throw new LoomError(
      "BASE_IMAGE_UNAVAILABLE",
      `--base ${opts.base}: no such image here and pulling it failed; load it first (docker load / docker build) or leave --base out to use ${opts.registryBase} or a base made from Debian packages`,
    );
  }
  opts.log(
    `${wanted} is not here and cannot be pulled: using ${opts.debianTag}, made from Debian packages and this host's node`,
  );
  const debian = await ensureDebianBase({
    docker: opts.docker,
    debootstrap: opts.debootstrap,
    tag: opts.debianTag,
    suite: opts.suite,
    packages: opts.packages,
    cacheDir: path.join(path.resolve(opts.repoRoot), ".loom/cache"),
    nodeBinary: opts.nodeBinary,
    log: opts.log,
  });
  return { ref: opts.debianTag, id: debian.id };
}

/** HEAD's commit, with `-dirty` when the tree has changes; `unknown` outside a git checkout. */
async function gitRevision(root: string): Promise<string> {
  try {
    const head = (await runOk("git rev-parse", "git", ["rev-parse", "HEAD"], { cwd: root })).trim();
    const status = await runOk("git status", "git", ["status", "--porcelain", "--untracked-files=no"], {
      cwd: root,
    });
    return status.trim() ? `${head}-dirty` : head;
  } catch {
    return "unknown";
  }
}
