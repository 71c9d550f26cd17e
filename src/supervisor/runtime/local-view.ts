import { existsSync, lstatSync, readdirSync, readlinkSync, realpathSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { loomRoot } from "../../shared/loom-root.ts";

/**
 * What a contained local process (spec.network "none") sees of the host under bubblewrap: the
 * toolchain read-only, the Loom installation it runs from read-only (less its `.env*`, `.npmrc`, `.git`),
 * its mounts, its own HOME and a private /tmp — never the host's `/`, the Supervisor's state folder or
 * other workspaces.
 */

export interface HostView {
  /** Host folders or files bound read-only at their own paths (after the toolchain). */
  readonly readOnly: readonly string[];
  /** Host paths that stay invisible even inside a read-only folder: the Supervisor's state, secrets. */
  readonly hidden: readonly string[];
}

/** Top-level folders a toolchain lives in; a symlink (merged /usr) is recreated as one. */
const SYSTEM_DIRS = ["/usr", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32"];
/**
 * What programs read from /etc: users (git, ssh-less whoami), name lookup of localhost, the dynamic
 * linker's cache, Debian's alternatives (/usr/bin/awk → /etc/alternatives/awk), git's system config,
 * the time zone. Not shadow, not the host's credentials or service configuration.
 */
const ETC_FILES = [
  "passwd",
  "group",
  "hosts",
  "nsswitch.conf",
  "localtime",
  "timezone",
  "gitconfig",
  "ld.so.cache",
  "ld.so.conf",
  "ld.so.conf.d",
  "alternatives",
  "os-release",
];

/** This Loom installation: what a local Lab runs. */
export function loomInstallation(): string {
  return loomRoot() ?? path.resolve(fileURLToPath(import.meta.url), "../../../..");
}

const real = (p: string): string => {
  try {
    return realpathSync(p);
  } catch {
    return p;
  }
};

/**
 * The default view: node's own installation when it lives outside /usr (nvm, /opt, /usr/local is
 * under /usr already), the Loom installation and its node_modules wherever the link points.
 */
export function defaultHostView(stateDir: string, loomRoot = loomInstallation()): HostView {
  const readOnly = new Set<string>();
  const node = real(process.execPath);
  // <prefix>/bin/node: the prefix carries node's own lib/ (npm, corepack).
  if (!node.startsWith("/usr/")) readOnly.add(path.dirname(path.dirname(node)));
  readOnly.add(loomRoot);
  const modules = path.join(loomRoot, "node_modules");
  if (existsSync(modules) && real(modules) !== modules) readOnly.add(real(modules));
  return { readOnly: [...readOnly], hidden: [path.resolve(stateDir), ...privateFiles(loomRoot)] };
}

/**
 * What of an installation a Lab never needs and may hold credentials: `.env*` files, `.npmrc` (registry
 * tokens), `.git` (a CI checkout keeps its token in `.git/config`), and the default state dir `.loom`.
 */
function privateFiles(loomRoot: string): string[] {
  let names: string[];
  try {
    names = readdirSync(loomRoot);
  } catch {
    names = [];
  }
  const secrets = names.filter((n) => n.startsWith(".env") || n === ".npmrc" || n === ".git");
  return [...secrets, ".loom"].map((n) => path.join(loomRoot, n));
}

/** bwrap arguments for the system part of the view: /usr and friends, a few /etc files. */
export function systemViewArgs(): string[] {
  const args: string[] = [];
  for (const dir of SYSTEM_DIRS) {
    const stat = lstatSync(dir, { throwIfNoEntry: false });
    if (!stat) continue;
    if (stat.isSymbolicLink()) args.push("--symlink", readLinkSafe(dir), dir);
    else args.push("--ro-bind", dir, dir);
  }
  for (const name of ETC_FILES) args.push("--ro-bind-try", `/etc/${name}`, `/etc/${name}`);
  return args;
}

function readLinkSafe(p: string): string {
  try {
    return readlinkSync(p);
  } catch {
    return real(p);
  }
}

/** Hide each hidden path that a read-only bind would otherwise show: an empty tmpfs or /dev/null over it. */
export function hideArgs(view: HostView): string[] {
  const args: string[] = [];
  const within = (p: string, dir: string) => p === dir || p.startsWith(`${dir.replace(/\/$/, "")}/`);
  for (const hidden of view.hidden) {
    if (!view.readOnly.some((dir) => within(hidden, dir))) continue;
    const stat = lstatSync(hidden, { throwIfNoEntry: false });
    if (!stat) continue;
    if (stat.isDirectory()) args.push("--tmpfs", hidden);
    else args.push("--ro-bind", "/dev/null", hidden);
  }
  return args;
}
