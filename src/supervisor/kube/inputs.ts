import { z } from "zod";
import { LoomError } from "../../shared/errors.ts";
import { isSecretName } from "../../shared/secret-env.ts";
import { formatIssues } from "../../shared/zod-issues.ts";

/**
 * What the Kubernetes renderers accept. Everything that lands in a manifest is checked here, with the
 * API server's own rules where the published schema does not check them (it types fields but leaves
 * names, label values and the image reference free), so a bad value is refused with its name before
 * any cluster sees it.
 */

export class KubeInputError extends LoomError {
  constructor(message: string) {
    super("KUBE_INPUT_INVALID", message);
  }
}

/** Parses `value` or throws one KubeInputError naming every bad field and what is accepted. */
export function parseKubeInput<S extends z.ZodType>(schema: S, value: unknown, what: string): z.output<S> {
  const parsed = schema.safeParse(value);
  if (!parsed.success) {
    throw new KubeInputError(`${what}: ${formatIssues(parsed.error, { root: "(input)" })}`);
  }
  return parsed.data;
}

const DNS_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
/** A label value: empty, or up to 63 alphanumerics, '-', '_', '.', starting and ending alphanumeric. */
export const LABEL_VALUE = /^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$/;
/** A label key: an optional DNS-subdomain prefix and '/', then a name like a label value (not empty). */
export const LABEL_KEY =
  /^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*\/)?[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$/;

export const Namespace = z
  .string()
  .max(63, "a namespace is at most 63 characters")
  .regex(DNS_LABEL, "a namespace is lowercase letters, digits and '-', starting and ending alphanumeric");

export const LabelValue = z
  .string()
  .max(63, "a label value is at most 63 characters")
  .regex(LABEL_VALUE, "a label value is letters, digits, '-', '_' and '.', starting and ending alphanumeric");

const LabelKey = z
  .string()
  .max(253 + 1 + 63, "a label key is at most a 253-character prefix, '/' and a 63-character name")
  .regex(LABEL_KEY, "a label key is [prefix/]name, the name letters, digits, '-', '_' and '.'")
  .refine((k) => (k.split("/").pop() ?? "").length <= 63, "a label key's name is at most 63 characters");

export const Labels = z.record(LabelKey, LabelValue);

/** `loom.repo` as repoLabels (lifecycle/lab-spec.ts) makes it: 16 hex digits of the repo path's hash. */
export const RepoHash = z
  .string()
  .regex(/^[0-9a-f]{16}$/, "the repo label is 16 lowercase hex digits (repoLabels in lifecycle/lab-spec.ts)");

export const Commit = z
  .string()
  .regex(/^([0-9a-f]{40}|[0-9a-f]{64})$/, "a commit is a full SHA-1 (40) or SHA-256 (64) lowercase hex id");

/**
 * Pinned by digest, so every node runs the same bytes: `name@sha256:<64 hex>` (a tag before the digest
 * is allowed and ignored by the runtime). A tag alone can move between two nodes' pulls.
 */
export const DigestImage = z
  .string()
  .regex(
    /^[a-z0-9][a-z0-9._\-/:]*@sha256:[0-9a-f]{64}$/,
    "the image must be pinned by digest: name@sha256:<64 hex digits> (after pushing, `docker image inspect --format '{{index .RepoDigests 0}}' <image>` prints it); a tag alone can differ between nodes",
  );

const Port = z.int().min(1).max(65535);

/**
 * Where Labs and steps reach the Supervisor. `address` is an IP, never a name: resolving a name needs
 * DNS, and DNS through the cluster's resolver is a way out for data, so the pods get no DNS at all.
 */
export const SupervisorEndpoint = z.strictObject({
  /** What pods connect to: the Supervisor's Service ClusterIP in the cluster, its host address outside. */
  address: z.union([z.ipv4(), z.ipv6()], {
    error: "the Supervisor's address is an IPv4 or IPv6 address, not a name",
  }),
  /** The git smart-HTTP endpoint's port (the Service's port equals the pod's, so policies name it). */
  gitPort: Port,
  /** The model proxy's port. */
  proxyPort: Port,
  /** The path the repository is served at. */
  gitPath: z
    .string()
    .regex(/^\/[A-Za-z0-9._\-/]*$/, "gitPath is an absolute URL path of letters, digits, '.', '_', '-', '/'")
    .default("/loom.git"),
  /**
   * The Supervisor's pods, when it runs in the cluster: NetworkPolicies name them by label. Absent, the
   * Supervisor is outside the cluster and the policies name `address` alone (a /32 or /128 ipBlock).
   */
  inCluster: z
    .strictObject({
      podLabels: Labels.refine((l) => Object.keys(l).length > 0, "podLabels needs at least one label"),
      /** The Supervisor's namespace when it is not the Labs' own. */
      namespace: Namespace.optional(),
    })
    .optional(),
});
export type SupervisorEndpoint = z.output<typeof SupervisorEndpoint>;

/** Variables the renderer sets itself; an input that sets them would be overridden silently. */
export const RENDERER_ENV = ["HOME", "LOOM_BIND_HOST", "LOOM_GIT_URL", "LOOM_LAB_API_BASE"] as const;

/** Plain configuration only: anything secret-looking travels in the Secret, never in a pod's spec. */
const Env = z
  .record(
    z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, "an environment name is [A-Za-z_][A-Za-z0-9_]*"),
    z.string(),
  )
  .superRefine((env, ctx) => {
    for (const name of Object.keys(env)) {
      if (isSecretName(name)) {
        ctx.addIssue({
          code: "custom",
          path: [name],
          message: `${name} looks like a secret; secrets travel in the generation's Secret, never in the environment`,
        });
      } else if ((RENDERER_ENV as readonly string[]).includes(name)) {
        ctx.addIssue({ code: "custom", path: [name], message: `${name} is set by the renderer` });
      }
    }
  });

const TimeoutMs = z.int().min(1000).max(86_400_000);
/** How long a finished Job (and its pod's logs) stays for the Supervisor to read before the TTL controller deletes it. */
const TtlSeconds = z
  .int()
  .min(0)
  .max(7 * 86_400)
  .default(600);

export const LabJobInput = z.strictObject({
  namespace: Namespace.default("loom"),
  repo: RepoHash,
  generation: z.int().min(1).max(999_999_999),
  /** The commit program.md was committed on; the branch `lab/gen-N` is that commit plus program.md. */
  parent: Commit,
  image: DigestImage,
  supervisor: SupervisorEndpoint,
  /** The port the Lab serves /status and /eval on, reached by the Supervisor only. */
  port: Port.default(8080),
  /** LOOM_LAB_TIMEOUT_MS: the Job's activeDeadlineSeconds. */
  timeoutMs: TimeoutMs,
  ttlSeconds: TtlSeconds,
  /** The Lab's own variables (labEnv without secrets). */
  env: Env.default({}),
});
export type LabJobInput = z.input<typeof LabJobInput>;

/** A verification subject as the `loom.verify` label names it: `gen-N`, or `base-<sha>` for a baseline. */
const Subject = z
  .string()
  .regex(
    /^(gen-[1-9][0-9]*|base-([0-9a-f]{40}|[0-9a-f]{64}))$/,
    "the subject is gen-N or base-<full commit id>",
  );

/** A cascade stage's name as the records spell it (fixed_points, reachable_tests, …). */
const Step = z
  .string()
  .regex(
    /^[a-z]([a-z0-9_]{0,18}[a-z0-9])?$/,
    "a step is 1–20 lowercase letters, digits and '_', starting with a letter and ending alphanumeric",
  );

/** The refs a step clones from: main (a baseline), a Lab's branch, an archived generation. */
const Ref = z
  .string()
  .regex(
    /^(main|lab\/gen-[1-9][0-9]*|refs\/loom\/archive\/gen-[1-9][0-9]*)$/,
    "ref is main, lab/gen-N or refs/loom/archive/gen-N",
  );

export const StepJobInput = z.strictObject({
  namespace: Namespace.default("loom"),
  repo: RepoHash,
  subject: Subject,
  step: Step,
  /** Tells two runs of one step apart (a Job's name must be unique while the first is kept). */
  run: z.string().regex(/^[a-z0-9]{1,6}$/, "run is 1–6 lowercase letters or digits"),
  ref: Ref,
  /** The commit the step checks; the clone is refused unless `ref` reaches it. */
  commit: Commit,
  image: DigestImage,
  supervisor: SupervisorEndpoint,
  /** main's script for the step, run with `sh -c` in the clone (as the docker runtime runs it). */
  script: z.string().min(1, "script is empty").max(10_000),
  /** LOOM_VERIFY_TIMEOUT_MS. */
  timeoutMs: TimeoutMs,
  ttlSeconds: TtlSeconds,
});
export type StepJobInput = z.input<typeof StepJobInput>;

const Token = z.string().regex(/^[A-Za-z0-9._~+/=-]{16,512}$/, "a token is 16–512 URL-safe characters");

export const LabSecretInput = z.strictObject({
  namespace: Namespace.default("loom"),
  repo: RepoHash,
  generation: z.int().min(1).max(999_999_999),
  /** The model proxy's per-generation token. */
  apiKey: Token,
  /** The token the Lab's server requires from the Supervisor. */
  labToken: Token,
  /** The git endpoint's per-generation token: fetch the parent, push lab/gen-N and nothing else. */
  gitToken: Token,
});
export type LabSecretInput = z.input<typeof LabSecretInput>;

export const StepSecretInput = z.strictObject({
  namespace: Namespace.default("loom"),
  repo: RepoHash,
  subject: Subject,
  step: Step,
  run: z.string().regex(/^[a-z0-9]{1,6}$/, "run is 1–6 lowercase letters or digits"),
  /** Read-only, one ref, one fetch. */
  gitToken: Token,
});
export type StepSecretInput = z.input<typeof StepSecretInput>;

export const LabPolicyInput = z.strictObject({
  namespace: Namespace.default("loom"),
  repo: RepoHash,
  generation: z.int().min(1).max(999_999_999),
  supervisor: SupervisorEndpoint,
  port: Port.default(8080),
});
export type LabPolicyInput = z.input<typeof LabPolicyInput>;

export const StepPolicyInput = z
  .strictObject({
    namespace: Namespace.default("loom"),
    repo: RepoHash,
    subject: Subject,
    step: Step,
    run: z.string().regex(/^[a-z0-9]{1,6}$/, "run is 1–6 lowercase letters or digits"),
    supervisor: SupervisorEndpoint,
    /**
     * `clone`: egress to the git endpoint only, while the init container clones. `sealed`: no egress at
     * all; the Supervisor replaces the policy with this one when the init container has ended.
     */
    phase: z.enum(["clone", "sealed"]),
    /** The install step alone (a changed lockfile) reaches a package cache the Supervisor serves on this port. */
    packagePort: Port.optional(),
  })
  .refine((p) => p.packagePort === undefined || p.step === "install", {
    path: ["packagePort"],
    message: "only the install step reaches the package cache; other steps get no egress",
  });
export type StepPolicyInput = z.input<typeof StepPolicyInput>;
