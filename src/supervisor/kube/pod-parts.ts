import type { IContainer } from "kubernetes-models/v1/Container";
import type { IPodSecurityContext } from "kubernetes-models/v1/PodSecurityContext";
import type { IResourceRequirements } from "kubernetes-models/v1/ResourceRequirements";
import type { ISecurityContext } from "kubernetes-models/v1/SecurityContext";
import type { IVolume } from "kubernetes-models/v1/Volume";
import type { SupervisorEndpoint } from "./inputs.ts";

/** The Lab image's user (lab-runtime/Containerfile, LAB_UID). */
export const LOOM_UID = 10001;
/** Where the init container sees the generation's Secret; no other container mounts it. */
export const SECRET_MOUNT = "/run/loom-secret";
/** Keys of the generation's Secret. */
export const SECRETS_KEY = "secrets.json";
export const GIT_TOKEN_KEY = "git-token";

/** Every pod: a fixed non-root user, the runtime's default seccomp profile, no service account token. */
export const POD_SECURITY: IPodSecurityContext = {
  runAsNonRoot: true,
  runAsUser: LOOM_UID,
  runAsGroup: LOOM_UID,
  // Secret and emptyDir files are group-owned by it, so the non-root user reads what it must.
  fsGroup: LOOM_UID,
  seccompProfile: { type: "RuntimeDefault" },
};

/**
 * Every container: no privilege escalation (setuid binaries do nothing), no capabilities at all, and a
 * read-only root: the Lab and the steps write only their workspace, /tmp and HOME=/tmp, all emptyDirs.
 */
export const CONTAINER_SECURITY: ISecurityContext = {
  runAsNonRoot: true,
  runAsUser: LOOM_UID,
  allowPrivilegeEscalation: false,
  privileged: false,
  readOnlyRootFilesystem: true,
  capabilities: { drop: ["ALL"] },
};

/**
 * Requests equal to limits (Guaranteed QoS): a Lab or step evicted or starved half-way wastes the whole
 * run, and the scheduler then places K candidates by what each really gets. PIDs have no per-pod field;
 * the kubelet's podPidsLimit caps them node-wide (docs/kubernetes.md).
 */
export function resources(limits: {
  readonly memoryMb: number;
  readonly cpus: number;
}): IResourceRequirements {
  const amounts = { cpu: String(limits.cpus), memory: `${limits.memoryMb}Mi` };
  return { requests: { ...amounts }, limits: { ...amounts } };
}

/** The generation's Secret, files readable by the pod's group only. */
export function secretVolume(secretName: string): IVolume {
  return { name: "secret", secret: { secretName, defaultMode: 0o440, optional: false } };
}

export function emptyDir(name: string, sizeLimit: string, memory = false): IVolume {
  return { name, emptyDir: { sizeLimit, ...(memory ? { medium: "Memory" } : {}) } };
}

/** `http://address:port`, IPv6 in brackets. */
export function supervisorUrl(s: SupervisorEndpoint, port: number, path = ""): string {
  const host = s.address.includes(":") ? `[${s.address}]` : s.address;
  return `http://${host}:${port}${path}`;
}

/** The git endpoint's URL. */
export function gitUrl(s: SupervisorEndpoint): string {
  return supervisorUrl(s, s.gitPort, s.gitPath);
}

/** An init container that runs `script` with sh, as the pod's user, with the Secret mounted. */
export function cloneContainer(
  image: string,
  script: string,
  env: Record<string, string>,
  mounts: IContainer["volumeMounts"],
): IContainer {
  return {
    name: "clone",
    image,
    imagePullPolicy: "IfNotPresent",
    command: ["sh", "-c", script],
    env: envList({ ...env, HOME: "/tmp" }),
    volumeMounts: [{ name: "secret", mountPath: SECRET_MOUNT, readOnly: true }, ...(mounts ?? [])],
    securityContext: CONTAINER_SECURITY,
    // Cloning needs little; the main container's limits are the pod's effective ones.
    resources: resources({ memoryMb: 512, cpus: 1 }),
  };
}

export function envList(env: Record<string, string>): NonNullable<IContainer["env"]> {
  return Object.keys(env)
    .sort()
    .map((name) => ({ name, value: env[name] ?? "" }));
}

/**
 * Shell lines that give every later git command of the script the token from the Secret file, as the
 * git endpoint takes it (HTTP Basic, user `loom`; src/supervisor/git-http/). Through git's environment
 * configuration, so it is on no command line and never written to the clone's config.
 */
export const GIT_AUTH_LINES = [
  "GIT_CONFIG_COUNT=2",
  "GIT_CONFIG_KEY_0=http.extraHeader",
  `GIT_CONFIG_VALUE_0="Authorization: Basic $(printf 'loom:%s' "$(cat ${SECRET_MOUNT}/${GIT_TOKEN_KEY})" | base64 | tr -d '\\n')"`,
  // No credential helper or prompt: a refused token fails at once, as with Loom's own git-http client.
  "GIT_CONFIG_KEY_1=credential.helper",
  "GIT_CONFIG_VALUE_1=",
  "GIT_TERMINAL_PROMPT=0",
  "export GIT_CONFIG_COUNT GIT_CONFIG_KEY_0 GIT_CONFIG_VALUE_0 GIT_CONFIG_KEY_1 GIT_CONFIG_VALUE_1 GIT_TERMINAL_PROMPT",
];
