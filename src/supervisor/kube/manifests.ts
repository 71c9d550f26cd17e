import type { IJob } from "kubernetes-models/batch/v1/Job";
import type { ISecret } from "kubernetes-models/v1/Secret";
import { LabSecrets } from "../../lab/lab-secrets.ts";
import { LAB_SOCKET_DIR, SECRETS_FILE } from "../lifecycle/lab-sockets.ts";
import { LAB_LIMITS, LAB_WORKSPACE } from "../lifecycle/lab-spec.ts";
import { STEP_ENV, VERIFY_LIMITS, VERIFY_PACKAGES, VERIFY_WORKDIR } from "../verify/run-step.ts";
import {
  LabJobInput,
  type LabJobInput as LabJobInputType,
  LabSecretInput,
  type LabSecretInput as LabSecretInputType,
  parseKubeInput,
  StepJobInput,
  type StepJobInput as StepJobInputType,
  StepSecretInput,
  type StepSecretInput as StepSecretInputType,
} from "./inputs.ts";
import {
  CONTAINER_SECURITY,
  cloneContainer,
  emptyDir,
  envList,
  GIT_AUTH_LINES,
  GIT_TOKEN_KEY,
  gitUrl,
  POD_SECURITY,
  resources,
  SECRET_MOUNT,
  SECRETS_KEY,
  secretVolume,
  supervisorUrl,
} from "./pod-parts.ts";

/**
 * Kubernetes manifests for Labs and verification steps, as plain objects: the design of
 * docs/kubernetes.md on paper. Nothing in the Supervisor's running path imports this; `loom kube render`
 * prints what it makes, and the tests check it against the API's published schema.
 */

/** Labels of one generation's objects: reaped by `loom=1,loom.repo=<hash>` (and the generation). */
export function labLabels(repo: string, generation: number): Record<string, string> {
  return { loom: "1", "loom.repo": repo, "loom.generation": String(generation) };
}

/**
 * Labels of one step run's objects; `loom.run` tells two runs of one step apart for its policy. A label
 * value holds 63 characters, so a SHA-256 baseline's subject is cut to its first 58 hex digits (the
 * Job's `loom/commit` annotation has the whole commit).
 */
export function stepLabels(repo: string, subject: string, step: string, run: string): Record<string, string> {
  return {
    loom: "1",
    "loom.repo": repo,
    "loom.verify": subject.slice(0, 63),
    "loom.step": step,
    "loom.run": run,
  };
}

/** The Lab's Job, Secret and NetworkPolicy share this name (as the docker runtime names the container). */
export function labName(repo: string, generation: number): string {
  return `loom-gen-${generation}-${repo.slice(0, 8)}`;
}

/** At most 62 characters: a Job's name becomes a pod label value (at most 63). */
export function stepName(repo: string, subject: string, step: string, run: string): string {
  const short = subject.startsWith("base-") ? subject.slice(0, 13) : subject;
  return `loom-verify-${short}-${step.replaceAll("_", "-")}-${run}-${repo.slice(0, 8)}`;
}

const deadline = (timeoutMs: number) => Math.ceil(timeoutMs / 1000);

/**
 * The Lab as a Job: one pod, never restarted or retried (a second attempt would be a second Lab on the
 * same branch), ended by activeDeadlineSeconds even when the Supervisor is gone, deleted by the TTL
 * controller after the Supervisor has read it. The init container clones `lab/gen-N` (program.md on the
 * parent) into an emptyDir and hands the Lab its secrets in a memory-backed folder, where the Lab reads
 * and deletes them; the Lab container never mounts the Secret itself.
 */
/** What every Loom Job shares: one try, a deadline, a TTL, no restart, no service account, no links. */
function job(j: {
  name: string;
  namespace: string;
  labels: Record<string, string>;
  annotations: Record<string, string>;
  timeoutMs: number;
  ttlSeconds: number;
  graceSeconds: number;
  pod: Pick<
    NonNullable<NonNullable<IJob["spec"]>["template"]["spec"]>,
    "initContainers" | "containers" | "volumes"
  >;
}): IJob {
  return {
    apiVersion: "batch/v1",
    kind: "Job",
    metadata: { name: j.name, namespace: j.namespace, labels: j.labels, annotations: j.annotations },
    spec: {
      activeDeadlineSeconds: deadline(j.timeoutMs),
      backoffLimit: 0,
      completions: 1,
      parallelism: 1,
      ttlSecondsAfterFinished: j.ttlSeconds,
      template: {
        metadata: { labels: j.labels },
        spec: {
          restartPolicy: "Never",
          automountServiceAccountToken: false,
          enableServiceLinks: false,
          securityContext: POD_SECURITY,
          terminationGracePeriodSeconds: j.graceSeconds,
          ...j.pod,
        },
      },
    },
  };
}

export function labJob(raw: LabJobInputType): IJob {
  const input = parseKubeInput(LabJobInput, raw, "labJob");
  const { repo, generation: n } = input;
  const name = labName(repo, n);
  const labels = labLabels(repo, n);
  const branch = `lab/gen-${n}`;
  const clone = [
    "set -eu",
    "umask 077",
    // The Lab reads and deletes these (src/lab/lab-secrets.ts); a Secret volume is read-only, so it gets copies.
    `cp ${SECRET_MOUNT}/${SECRETS_KEY} ${LAB_SOCKET_DIR}/${SECRETS_FILE}`,
    `cp ${SECRET_MOUNT}/${GIT_TOKEN_KEY} ${LAB_SOCKET_DIR}/${GIT_TOKEN_KEY}`,
    ...GIT_AUTH_LINES,
    `git init --quiet --initial-branch=loom-init ${LAB_WORKSPACE}`,
    `cd ${LAB_WORKSPACE}`,
    `git fetch --quiet --no-tags "$LOOM_GIT_URL" "+refs/heads/main:refs/heads/main" "+refs/heads/${branch}:refs/heads/${branch}" ||`,
    `  { echo "fetching main and ${branch} from $LOOM_GIT_URL failed (above: a refused token reads as 'could not read Username')" >&2; exit 1; }`,
    `git checkout --quiet ${branch}`,
    `parent=$(git rev-parse HEAD^)`,
    `[ "$parent" = "$LOOM_PARENT" ] || { echo "${branch} is not program.md on $LOOM_PARENT (its parent is $parent)" >&2; exit 1; }`,
  ].join("\n");
  const workspace = { name: "workspace", mountPath: LAB_WORKSPACE };
  const run = { name: "run", mountPath: LAB_SOCKET_DIR };
  return job({
    name,
    namespace: input.namespace,
    labels,
    annotations: { "loom/parent": input.parent, "loom/branch": branch },
    timeoutMs: input.timeoutMs,
    ttlSeconds: input.ttlSeconds,
    graceSeconds: 5,
    pod: {
      initContainers: [
        cloneContainer(
          input.image,
          clone,
          { LOOM_GIT_URL: gitUrl(input.supervisor), LOOM_PARENT: input.parent },
          [workspace, run],
        ),
      ],
      containers: [
        {
          name: "lab",
          image: input.image,
          imagePullPolicy: "IfNotPresent",
          args: [
            "lab",
            "--workspace",
            LAB_WORKSPACE,
            "--generation",
            String(n),
            "--port",
            String(input.port),
            "--exit",
            "--secrets",
            `${LAB_SOCKET_DIR}/${SECRETS_FILE}`,
          ],
          workingDir: LAB_WORKSPACE,
          env: envList({
            ...input.env,
            // The Supervisor reaches /status on the pod's address, so the Lab listens on all of its own.
            LOOM_BIND_HOST: "0.0.0.0",
            LOOM_LAB_API_BASE: supervisorUrl(input.supervisor, input.supervisor.proxyPort),
            LOOM_GIT_URL: gitUrl(input.supervisor),
            HOME: "/tmp",
          }),
          ports: [{ name: "status", containerPort: input.port, protocol: "TCP" }],
          volumeMounts: [
            workspace,
            // As under docker: the Lab runs the fixed points and the acceptance suite but cannot change them.
            {
              name: "workspace",
              mountPath: `${LAB_WORKSPACE}/schemas`,
              subPath: "schemas",
              readOnly: true,
            },
            {
              name: "workspace",
              mountPath: `${LAB_WORKSPACE}/acceptance`,
              subPath: "acceptance",
              readOnly: true,
            },
            run,
            { name: "tmp", mountPath: "/tmp" },
          ],
          securityContext: CONTAINER_SECURITY,
          resources: resources(LAB_LIMITS),
        },
      ],
      volumes: [
        emptyDir("workspace", "8Gi"),
        emptyDir("run", "1Mi", true),
        emptyDir("tmp", "2Gi"),
        secretVolume(name),
      ],
    },
  });
}

/**
 * One verification step as a Job: a fresh pod per step, as under docker. The init container fetches
 * `ref`, refuses a ref that does not reach the commit, and checks the commit out; the step runs main's
 * script in it. The git token is read-only and lives in the init container alone.
 */
export function verifyStepJob(raw: StepJobInputType): IJob {
  const input = parseKubeInput(StepJobInput, raw, "verifyStepJob");
  const { repo, subject, step, run } = input;
  const name = stepName(repo, subject, step, run);
  const labels = stepLabels(repo, subject, step, run);
  const clone = [
    "set -eu",
    ...GIT_AUTH_LINES,
    `git init --quiet --initial-branch=loom-init ${VERIFY_WORKDIR}`,
    `cd ${VERIFY_WORKDIR}`,
    `git fetch --quiet --no-tags "$LOOM_GIT_URL" "$LOOM_REF" ||`,
    `  { echo "fetching $LOOM_REF from $LOOM_GIT_URL failed (above: a refused token reads as 'could not read Username')" >&2; exit 1; }`,
    `git merge-base --is-ancestor "$LOOM_COMMIT" FETCH_HEAD || { echo "$LOOM_REF does not reach $LOOM_COMMIT" >&2; exit 1; }`,
    `git checkout --quiet --detach "$LOOM_COMMIT"`,
    // main's installed packages, when the image carries them (as the docker runtime mounts them).
    `if [ -d ${VERIFY_PACKAGES} ]; then ln -s ${VERIFY_PACKAGES} node_modules; fi`,
  ].join("\n");
  const workdir = { name: "verify", mountPath: VERIFY_WORKDIR };
  return job({
    name,
    namespace: input.namespace,
    labels,
    annotations: { "loom/commit": input.commit },
    timeoutMs: input.timeoutMs,
    ttlSeconds: input.ttlSeconds,
    graceSeconds: 1,
    pod: {
      initContainers: [
        cloneContainer(
          input.image,
          clone,
          { LOOM_GIT_URL: gitUrl(input.supervisor), LOOM_REF: input.ref, LOOM_COMMIT: input.commit },
          [workdir],
        ),
      ],
      containers: [
        {
          name: "step",
          image: input.image,
          imagePullPolicy: "IfNotPresent",
          command: ["sh", "-c", input.script],
          workingDir: VERIFY_WORKDIR,
          // What the docker runtime gives a step (run-step.ts STEP_ENV), and nothing of the Supervisor.
          env: envList({
            ...STEP_ENV,
            ...(step === "install" ? { npm_config_ignore_scripts: "true" } : {}),
            HOME: "/tmp",
          }),
          volumeMounts: [workdir, { name: "tmp", mountPath: "/tmp" }],
          securityContext: CONTAINER_SECURITY,
          resources: resources(VERIFY_LIMITS),
        },
      ],
      volumes: [emptyDir("verify", "8Gi"), emptyDir("tmp", "2Gi"), secretVolume(name)],
    },
  });
}

/**
 * The generation's Secret: the Lab's secrets file exactly as src/lab/lab-secrets.ts reads it, and the
 * git token. Immutable, so a later write cannot swap a running Lab's token.
 */
export function labSecret(raw: LabSecretInputType): ISecret {
  const input = parseKubeInput(LabSecretInput, raw, "labSecret");
  const secrets = LabSecrets.parse({ apiKey: input.apiKey, labToken: input.labToken });
  return {
    apiVersion: "v1",
    kind: "Secret",
    metadata: {
      name: labName(input.repo, input.generation),
      namespace: input.namespace,
      labels: labLabels(input.repo, input.generation),
    },
    type: "Opaque",
    immutable: true,
    stringData: { [SECRETS_KEY]: JSON.stringify(secrets), [GIT_TOKEN_KEY]: input.gitToken },
  };
}

/** A step's Secret: its read-only git token, nothing else. */
export function stepSecret(raw: StepSecretInputType): ISecret {
  const input = parseKubeInput(StepSecretInput, raw, "stepSecret");
  const { repo, subject, step, run } = input;
  return {
    apiVersion: "v1",
    kind: "Secret",
    metadata: {
      name: stepName(repo, subject, step, run),
      namespace: input.namespace,
      labels: stepLabels(repo, subject, step, run),
    },
    type: "Opaque",
    immutable: true,
    stringData: { [GIT_TOKEN_KEY]: input.gitToken },
  };
}
