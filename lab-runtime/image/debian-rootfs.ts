import { createHash, randomBytes } from "node:crypto";
import { promises as fs } from "node:fs";
import path from "node:path";
import { LoomError } from "../../src/shared/errors.ts";
import { readHostMirror } from "./host-mirror.ts";
import { removeRootfs } from "./remove-rootfs.ts";
import { CommandFailedError, run, runOk } from "./run.ts";

export interface RootfsOptions {
  debootstrap: string;
  suite: string;
  packages: readonly string[];
  /** Where the tarball is kept (and the rootfs is made, on the same filesystem). */
  cacheDir: string;
  /** Mirror URL; default: the host apt's mirror for the suite, else debootstrap's own default. */
  mirror?: string;
  log: (line: string) => void;
}

// Slim the image like the official slim bases: apt caches and indexes, man pages and translations.
const EXCLUDES = [
  "./dev/*",
  "./proc/*",
  "./sys/*",
  "./run/*",
  "./tmp/*",
  "./var/cache/apt/*",
  "./var/lib/apt/lists/*",
  "./var/log/*",
  "./usr/share/man/*",
  "./usr/share/locale/*",
  "./debootstrap",
];

/** The cache file for a suite and package set; the same inputs always name the same tarball. */
export function rootfsTarballPath(cacheDir: string, suite: string, packages: readonly string[]): string {
  const key = createHash("sha256")
    .update(JSON.stringify({ suite, packages: [...packages].sort() }))
    .digest("hex")
    .slice(0, 16);
  return path.join(cacheDir, `debian-${suite}-minbase-${key}.tar`);
}

/**
 * Returns a tarball of a minimal Debian root filesystem with `packages`, making it with debootstrap the
 * first time (minutes) and reusing the cached file after that (instant). The file appears atomically.
 */
export async function ensureRootfsTarball(
  opts: RootfsOptions,
): Promise<{ tarball: string; cached: boolean }> {
  const tarball = rootfsTarballPath(opts.cacheDir, opts.suite, opts.packages);
  if (await exists(tarball)) return { tarball, cached: true };
  await checkCanDebootstrap(opts.debootstrap);
  await fs.mkdir(opts.cacheDir, { recursive: true });
  const nonce = `${process.pid}-${randomBytes(4).toString("hex")}`;
  const target = path.join(opts.cacheDir, `rootfs-${nonce}`);
  const partial = `${tarball}.${nonce}.partial`;
  try {
    const mirror = opts.mirror ?? (await readHostMirror(opts.suite));
    opts.log(
      `debootstrap ${opts.suite} (${opts.packages.join(", ")}) from ${mirror ?? "debootstrap's default mirror"}`,
    );
    const args = ["--variant=minbase", `--include=${opts.packages.join(",")}`, opts.suite, target];
    const result = await run(opts.debootstrap, mirror ? [...args, mirror] : args, {
      timeoutMs: 30 * 60_000,
      // Per-package lines are hundreds; show the phases.
      onLine: (line) => {
        if (/^I: (Retrieving|Validating|Extracting|Unpacking|Configuring) \S+ /.test(line)) return;
        opts.log(`  ${line}`);
      },
    });
    if (result.code !== 0) {
      const detail = await fs
        .readFile(path.join(target, "debootstrap", "debootstrap.log"), "utf8")
        .catch(() => "");
      result.stderr += `\n--- end of ${target}/debootstrap/debootstrap.log ---\n${detail.split("\n").slice(-20).join("\n")}`;
      throw new CommandFailedError(`debootstrap ${opts.suite} (is the Debian mirror reachable?)`, result);
    }
    await runOk("tar (packing the rootfs)", "tar", [
      "-C",
      target,
      "--numeric-owner",
      ...EXCLUDES.map((e) => `--exclude=${e}`),
      "-cf",
      partial,
      ".",
    ]);
    await fs.rename(partial, tarball);
    return { tarball, cached: false };
  } finally {
    await fs.rm(partial, { force: true });
    await removeRootfs(target);
  }
}

async function checkCanDebootstrap(debootstrap: string): Promise<void> {
  await run(debootstrap, ["--version"], {
    missingHint:
      "it builds the Lab's Debian base image when no container registry is reachable; install it with `apt-get install debootstrap` (or pass --base <image> to use an image you already have)",
  });
  if (typeof process.getuid === "function" && process.getuid() !== 0) {
    throw new LoomError(
      "DEBOOTSTRAP_NEEDS_ROOT",
      "debootstrap must run as root to build the Lab's Debian base image: run `sudo npm run image` once (later builds reuse the cached rootfs), or pass --base <image> to use an image you already have",
    );
  }
}

async function exists(file: string): Promise<boolean> {
  return fs.stat(file).then(
    () => true,
    () => false,
  );
}
