import { promises as fs } from "node:fs";
import path from "node:path";
import { execa } from "execa";

/**
 * Everything a swarm cluster makes is named after its id, so it can be removed from the names alone,
 * by this run or by the next one after a killed run:
 * - `<root>/<id>/` with `cluster.json` (its owner: pid and start time) and each node's folder;
 * - network namespaces `loom-sw-<id>-hub` and `loom-sw-<id>-n<k>` (/run/netns);
 * - processes whose command line names `<root>/<id>/` (each node's pid-namespace init, dockerd,
 *   containerd, shims: killing the init kills everything in its pid namespace, containers included);
 * - cgroups `loom-sw-<id>-n<k>` at the top of each cgroup hierarchy (each dockerd's --cgroup-parent;
 *   a container killed with its engine leaves its empty cgroup behind).
 * Mounts live in each node's private mount namespace and go with its last process.
 */

export const NAME_PREFIX = "loom-sw-";
const ID = /^[0-9a-f]{8}$/;
const NAMED = /^loom-sw-([0-9a-f]{8})-(hub|n\d+)$/;

export interface ClusterRecord {
  version: 1;
  id: string;
  owner: { pid: number; start: string };
  created: string;
}

/** The kernel's start time of a process (field 22 of /proc/<pid>/stat), or undefined if it is gone. */
export async function processStart(pid: number): Promise<string | undefined> {
  const stat = await fs.readFile(`/proc/${pid}/stat`, "utf8").catch(() => undefined);
  if (!stat) return undefined;
  // The command name (field 2) may hold spaces and parentheses: split after its closing one.
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return fields[19];
}

export async function writeRecord(dir: string, id: string): Promise<void> {
  const record: ClusterRecord = {
    version: 1,
    id,
    owner: { pid: process.pid, start: (await processStart(process.pid)) ?? "" },
    created: new Date().toISOString(),
  };
  await fs.writeFile(path.join(dir, "cluster.json"), `${JSON.stringify(record, null, 2)}\n`);
}

async function ownerAlive(dir: string): Promise<boolean> {
  const text = await fs.readFile(path.join(dir, "cluster.json"), "utf8").catch(() => undefined);
  if (!text) return false;
  try {
    const record = JSON.parse(text) as ClusterRecord;
    if (record.owner.pid === process.pid) return true; // this process's own cluster: it stops it itself
    return (await processStart(record.owner.pid)) === record.owner.start;
  } catch {
    return false;
  }
}

/** Pids whose command line contains `needle` (not this process). */
export async function processesNaming(needle: string): Promise<number[]> {
  const found: number[] = [];
  for (const entry of await fs.readdir("/proc")) {
    if (!/^\d+$/.test(entry) || Number(entry) === process.pid) continue;
    const cmdline = await fs.readFile(`/proc/${entry}/cmdline`, "utf8").catch(() => "");
    if (cmdline.replaceAll("\0", " ").includes(needle)) found.push(Number(entry));
  }
  return found;
}

async function waitGone(pids: number[], timeoutMs: number): Promise<number[]> {
  const deadline = Date.now() + timeoutMs;
  let left = pids;
  while (left.length > 0 && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 50));
    const still: number[] = [];
    // A zombie has no cmdline left and is gone for our purposes (its parent reaps it).
    for (const pid of left) {
      const cmd = await fs.readFile(`/proc/${pid}/cmdline`, "utf8").catch(() => "");
      if (cmd !== "") still.push(pid);
    }
    left = still;
  }
  return left;
}

/** Kills every process naming `dir` with SIGKILL and waits (bounded) until they are gone. */
export async function killProcessesOf(dir: string, timeoutMs = 10_000): Promise<void> {
  const needle = `${dir}/`;
  const pids = await processesNaming(needle);
  for (const pid of pids) {
    try {
      process.kill(pid, "SIGKILL");
    } catch {}
  }
  const left = await waitGone(pids, timeoutMs);
  if (left.length > 0)
    throw new Error(`swarm cluster cleanup: processes ${left.join(", ")} of ${dir} survived SIGKILL`);
}

/** The mount points of every cgroup hierarchy (v1 controllers, named ones, and v2). */
async function cgroupRoots(): Promise<string[]> {
  const info = await fs.readFile("/proc/self/mountinfo", "utf8");
  const roots: string[] = [];
  for (const line of info.split("\n")) {
    const [before, after] = line.split(" - ");
    if (!before || !after) continue;
    const fsType = after.split(" ")[0];
    if (fsType === "cgroup" || fsType === "cgroup2") roots.push(before.split(" ")[4] as string);
  }
  return roots;
}

/** rmdir depth-first; a cgroup still holding a dying process is retried until the deadline. */
async function removeCgroup(dir: string, deadline: number): Promise<void> {
  const children = await fs.readdir(dir, { withFileTypes: true }).catch(() => []);
  for (const child of children)
    if (child.isDirectory()) await removeCgroup(path.join(dir, child.name), deadline);
  for (;;) {
    try {
      await fs.rmdir(dir);
      return;
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === "ENOENT") return;
      if (code !== "EBUSY" || Date.now() > deadline) throw err;
      await new Promise((r) => setTimeout(r, 50));
    }
  }
}

export async function removeCgroupsOf(id: string, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (const root of await cgroupRoots()) {
    for (const entry of await fs.readdir(root).catch(() => [])) {
      if (entry.startsWith(`${NAME_PREFIX}${id}-`)) await removeCgroup(path.join(root, entry), deadline);
    }
  }
}

export async function netnsOf(id?: string): Promise<string[]> {
  const names = await fs.readdir("/run/netns").catch(() => []);
  return names.filter((n) => {
    const m = NAMED.exec(n);
    return m !== null && (id === undefined || m[1] === id);
  });
}

export async function deleteNetns(names: string[]): Promise<void> {
  for (const name of names) {
    const r = await execa("ip", ["netns", "delete", name], { reject: false, stdin: "ignore" });
    if (r.exitCode !== 0 && (await netnsOf()).includes(name)) {
      throw new Error(`swarm cluster cleanup: ip netns delete ${name} failed: ${r.stderr.trim()}`);
    }
  }
}

/** Unmounts anything mounted under `dir` in this mount namespace (nothing is, unless a node leaked one). */
async function unmountUnder(dir: string): Promise<void> {
  const info = await fs.readFile("/proc/self/mountinfo", "utf8");
  const points = info
    .split("\n")
    .map((l) => l.split(" ")[4])
    .filter((p): p is string => p !== undefined && (p === dir || p.startsWith(`${dir}/`)))
    .sort((a, b) => b.length - a.length);
  for (const p of points) await execa("umount", ["-l", p], { reject: false, stdin: "ignore" });
}

/** Removes everything of cluster `id` under `root`; idempotent, and every step runs even if one fails. */
export async function reapCluster(root: string, id: string): Promise<void> {
  if (!ID.test(id)) throw new Error(`not a swarm cluster id: ${JSON.stringify(id)}`);
  const dir = path.join(root, id);
  const errors: unknown[] = [];
  const step = async (f: () => Promise<void>) => {
    try {
      await f();
    } catch (err) {
      errors.push(err);
    }
  };
  await step(() => killProcessesOf(dir));
  await step(async () => deleteNetns(await netnsOf(id)));
  await step(() => removeCgroupsOf(id));
  await step(() => unmountUnder(dir));
  await step(() => fs.rm(dir, { recursive: true, force: true }));
  if (errors.length > 0) {
    throw new AggregateError(errors, `swarm cluster ${id}: cleanup failed: ${errors.map(String).join("; ")}`);
  }
}

/**
 * Reaps the clusters under `root` whose owner process is gone (a run killed before its afterAll),
 * and namespaces or cgroups named after an id with no live cluster folder. Returns the ids reaped.
 */
export async function reapSwarmClusters(root: string): Promise<string[]> {
  const ids = new Set<string>();
  for (const entry of await fs.readdir(root).catch(() => [])) {
    if (ID.test(entry) && !(await ownerAlive(path.join(root, entry)))) ids.add(entry);
  }
  const live = async (id: string) => ownerAlive(path.join(root, id));
  for (const name of await netnsOf()) {
    const id = NAMED.exec(name)?.[1] as string;
    if (!(await live(id))) ids.add(id);
  }
  for (const cgroupRoot of await cgroupRoots()) {
    for (const entry of await fs.readdir(cgroupRoot).catch(() => [])) {
      const id = NAMED.exec(entry)?.[1];
      if (id && !(await live(id))) ids.add(id);
    }
  }
  for (const id of ids) await reapCluster(root, id);
  return [...ids];
}
