import { promises as fs } from "node:fs";
import path from "node:path";
import { errorMessage } from "../../shared/errors.ts";
import { firstLines, runCli } from "./cli-exec.ts";
import { type HostView, hideArgs, systemViewArgs } from "./local-view.ts";
import { type HostRunSpec, type Mount, type RunSpec, RuntimeError } from "./runtime.ts";

/**
 * How `local` turns a container spec into a host process: container paths map through the mounts to
 * host paths, and when bubblewrap works the process gets a pid namespace and writable binds only for
 * its workspace mounts and HOME; a contained one (network "none") also its own network namespace and
 * only the toolchain of the host (local-view.ts).
 */

export type Sandbox =
  | { readonly kind: "bwrap"; readonly bin: string }
  | { readonly kind: "none"; readonly why: string };

/** The bwrap options Loom uses, probed once with `true`: a bwrap that cannot make a pid and a network namespace here is no use. */
export async function detectBwrap(bin = "bwrap"): Promise<Sandbox> {
  try {
    const probe = [
      "--unshare-pid",
      "--unshare-net",
      "--die-with-parent",
      "--ro-bind",
      "/",
      "/",
      "--dev",
      "/dev",
      "--proc",
      "/proc",
    ];
    const r = await runCli(bin, [...probe, "--tmpfs", "/tmp", "true"], { timeoutMs: 10_000 });
    if (r.exitCode === 0) return { kind: "bwrap", bin };
    return { kind: "none", why: `${bin} is installed but does not work here: ${firstLines(r.all)}` };
  } catch (err) {
    return { kind: "none", why: errorMessage(err) };
  }
}

/** The host path a container path refers to, through the deepest mount containing it. */
export function mapContainerPath(containerPath: string, mounts: readonly Mount[]): string | undefined {
  let best: Mount | undefined;
  for (const m of mounts) {
    const inside =
      containerPath === m.container || containerPath.startsWith(`${m.container.replace(/\/$/, "")}/`);
    if (inside && (!best || m.container.length > best.container.length)) best = m;
  }
  if (!best) return undefined;
  return path.join(best.host, path.relative(best.container, containerPath));
}

export interface Placement {
  readonly mount: Mount;
  /** Where the process sees it: inside an enclosing mount's host path, else at its own host path. */
  readonly target: string;
}

/** Shallow before deep, so a nested bind lands on top of its parent. */
export function placeMounts(mounts: readonly Mount[]): Placement[] {
  return mounts
    .map((mount) => {
      const others = mounts.filter((o) => o !== mount);
      return { mount, target: mapContainerPath(mount.container, others) ?? mount.host };
    })
    .sort((a, b) => a.target.length - b.target.length);
}

export function resolveCwd(spec: HostRunSpec, home: string): string {
  if (spec.workdir === undefined) return home;
  const cwd = mapContainerPath(spec.workdir, spec.mounts);
  if (cwd === undefined) {
    throw new RuntimeError(
      "INVALID_SPEC",
      `workdir ${spec.workdir} is not inside any mount; the local runtime runs in a host directory, so workdir must be a mount's container path (or below one)`,
    );
  }
  return cwd;
}

/** A process asked to run without network (`network: "none"`): the local runtime contains it. */
export const isContained = (spec: RunSpec): boolean => spec.network === "none";

/**
 * argv for the process: bwrap around the command, or the command itself. A contained process gets its
 * own network namespace (only its own loopback; unix sockets in a bound folder still connect) and the
 * host view of `view`: toolchain and installation read-only, its mounts, HOME, a private /tmp. Any other
 * process (Prime, trusted) sees the host read-only as before and shares its network.
 */
export function sandboxArgv(
  sandbox: Sandbox,
  spec: HostRunSpec,
  cwd: string,
  home: string,
  view: HostView = { readOnly: [], hidden: [] },
): string[] {
  const placements = placeMounts(spec.mounts);
  const line = spec.entrypoint === undefined ? spec.command : [spec.entrypoint, ...spec.command];
  if (sandbox.kind === "none") return [...line];
  const args = [sandbox.bin, "--unshare-pid", "--die-with-parent"];
  if (isContained(spec)) {
    args.push("--unshare-net", "--new-session", ...systemViewArgs());
    // Run as root, bwrap would leave the process every capability: CAP_DAC_READ_SEARCH alone opens any
    // host file by handle from its bound workspace, CAP_SYS_ADMIN unmounts the view.
    if (process.getuid?.() === 0) args.push("--cap-drop", "ALL");
    args.push("--dev", "/dev", "--proc", "/proc", "--tmpfs", "/tmp");
    // Binds after the /tmp tmpfs: an installation or workspace under /tmp (a CI clone) stays visible.
    for (const dir of view.readOnly) args.push("--ro-bind", dir, dir);
    args.push(...hideArgs(view));
  } else {
    args.push("--ro-bind", "/", "/");
    // No private tmpfs on /tmp: it would hide a checkout or state folder that lives under /tmp (as in a
    // CI clone). / is read-only anyway; the process gets a writable TMPDIR inside its own HOME.
    args.push("--dev", "/dev", "--proc", "/proc");
  }
  for (const p of placements) args.push(p.mount.readOnly ? "--ro-bind" : "--bind", p.mount.host, p.target);
  // HOME last: a read-only mount of a folder that holds the state dir (Prime's repo) must not cover it.
  args.push("--bind", home, home);
  args.push("--chdir", cwd, "--", ...line);
  return args;
}

/**
 * Without a sandbox a nested mount can only be a symlink (so read-only is not enforced, and the
 * warning says so). A bwrap bind needs its mount point to exist; bwrap creates it.
 */
export async function prepareNestedMounts(sandbox: Sandbox, mounts: readonly Mount[]): Promise<void> {
  if (sandbox.kind === "bwrap") return;
  for (const p of placeMounts(mounts)) {
    if (p.target === p.mount.host) continue;
    const existing = await fs.readlink(p.target).catch(() => undefined);
    if (existing === p.mount.host) continue;
    try {
      await fs.symlink(p.mount.host, p.target);
    } catch (err) {
      throw new RuntimeError(
        "INVALID_SPEC",
        `cannot place mount ${p.mount.container} at ${p.target}: ${err instanceof Error ? err.message : err}`,
      );
    }
  }
}
