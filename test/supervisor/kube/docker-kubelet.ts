import { chmod, chown, mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { execa } from "execa";
import type { IJob } from "kubernetes-models/batch/v1/Job";
import type { IContainer } from "kubernetes-models/v1/Container";
import type { ISecret } from "kubernetes-models/v1/Secret";

/**
 * Just enough of a kubelet to run a rendered Job's containers under docker, in order, with what the
 * manifest says and nothing more: its user and group, the fsGroup as an extra group, a read-only root
 * when asked, no capabilities, no-new-privileges, each volume as a host folder (a Secret's files
 * group-owned by the fsGroup with its defaultMode, an emptyDir world-writable as the kubelet makes it),
 * `subPath` and `readOnly` mounts. The network is the host's loopback: the tests' git endpoint binds
 * 127.0.0.1, and a NetworkPolicy cannot be enforced here (docs/kubernetes.md says so).
 */

export const TEST_LABEL = "loom.test=kube-kubelet";

export interface PodRun {
  readonly exitCode: number;
  readonly stdout: string;
  readonly stderr: string;
}

export interface DockerPod {
  /** Host folder of a volume by name. */
  volume(name: string): string;
  /** Runs one container of the pod to its end. */
  run(container: IContainer): Promise<PodRun>;
  cleanup(): Promise<void>;
}

export async function dockerPod(job: IJob, secret: ISecret, image: string): Promise<DockerPod> {
  const pod = job.spec?.template.spec;
  if (!pod) throw new Error("the Job has no pod template");
  const root = await mkdtemp(path.join(tmpdir(), "loom-kubelet-"));
  const fsGroup = pod.securityContext?.fsGroup;
  const dirs = new Map<string, string>();
  for (const v of pod.volumes ?? []) {
    const dir = path.join(root, v.name);
    await mkdir(dir);
    dirs.set(v.name, dir);
    if (v.emptyDir) await chmod(dir, 0o777);
    if (v.secret) {
      if (v.secret.secretName !== secret.metadata?.name)
        throw new Error(`volume ${v.name} wants another Secret`);
      for (const [key, value] of Object.entries(secret.stringData ?? {})) {
        const file = path.join(dir, key);
        await writeFile(file, value);
        // Group-owned by the fsGroup, as the kubelet makes it; a runner that may not chown makes it world-readable instead.
        const owned = await chown(file, 0, fsGroup ?? 0).then(
          () => true,
          () => false,
        );
        await chmod(file, owned ? (v.secret.defaultMode ?? 0o644) : 0o444);
      }
    }
  }
  const volume = (name: string) => {
    const dir = dirs.get(name);
    if (!dir) throw new Error(`no volume ${name}`);
    return dir;
  };
  return {
    volume,
    async run(c) {
      const sc = { ...pod.securityContext, ...c.securityContext };
      const args = ["run", "--rm", "--network", "host", "--label", TEST_LABEL, "--stop-timeout", "1"];
      args.push("--user", `${sc.runAsUser ?? 0}:${pod.securityContext?.runAsGroup ?? sc.runAsUser ?? 0}`);
      if (fsGroup !== undefined) args.push("--group-add", String(fsGroup));
      if (c.securityContext?.readOnlyRootFilesystem) args.push("--read-only");
      if (c.securityContext?.allowPrivilegeEscalation === false)
        args.push("--security-opt", "no-new-privileges");
      for (const cap of c.securityContext?.capabilities?.drop ?? []) args.push("--cap-drop", cap);
      for (const e of c.env ?? []) args.push("-e", `${e.name}=${e.value ?? ""}`);
      for (const m of c.volumeMounts ?? []) {
        const host = m.subPath ? path.join(volume(m.name), m.subPath) : volume(m.name);
        if (m.subPath) await mkdir(host, { recursive: true });
        args.push("-v", `${host}:${m.mountPath}${m.readOnly ? ":ro" : ""}`);
      }
      if (c.workingDir) args.push("-w", c.workingDir);
      const [entry, ...rest] = c.command ?? [];
      if (entry) args.push("--entrypoint", entry);
      args.push(image, ...rest, ...(c.args ?? []));
      const r = await execa("docker", args, { reject: false, stdin: "ignore", timeout: 120_000 });
      return { exitCode: r.exitCode ?? -1, stdout: r.stdout, stderr: r.stderr };
    },
    cleanup: () => rm(root, { recursive: true, force: true }),
  };
}

/** Removes any container a killed run left (they are `--rm`, so normally none). */
export async function reapKubeletContainers(): Promise<void> {
  const r = await execa("docker", ["ps", "-aq", "--filter", `label=${TEST_LABEL}`], { reject: false });
  const ids = r.stdout.split("\n").filter(Boolean);
  if (ids.length > 0) await execa("docker", ["rm", "-f", ...ids], { reject: false });
}
