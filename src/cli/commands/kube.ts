import { type Command, InvalidArgumentError } from "commander";
import type { z } from "zod";
import {
  Commit,
  DigestImage,
  KubeInputError,
  Labels,
  Namespace,
  SupervisorEndpoint,
} from "../../supervisor/kube/inputs.ts";
import { parsePositiveInt } from "../options.ts";

/** A flag checked by the renderer's own zod piece, refused with the value and what is accepted. */
function byZod<S extends z.ZodType>(
  flag: string,
  schema: S,
  read: (value: string) => unknown = (v) => v,
): (value: string) => z.output<S> {
  return (value: string) => {
    const parsed = schema.safeParse(read(value));
    if (parsed.success) return parsed.data;
    const why = parsed.error.issues
      .map(
        (i) => `${i.path.length ? `${i.path.join(".")}: ` : ""}${i.message.replace(/^Invalid input: /, "")}`,
      )
      .join("; ");
    throw new InvalidArgumentError(`${flag} "${value}" is not accepted: ${why}.`);
  };
}

/** `k=v,k=v` label pairs. */
function parseLabels(value: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const pair of value.split(",")) {
    const eq = pair.indexOf("=");
    if (eq <= 0) {
      throw new InvalidArgumentError(`--supervisor-labels takes key=value[,key=value…] (got "${value}").`);
    }
    out[pair.slice(0, eq)] = pair.slice(eq + 1);
  }
  return out;
}

interface RenderOptions {
  generation: number;
  parent: string;
  image: string;
  supervisorAddress: string;
  gitPort: number;
  proxyPort: number;
  namespace?: string;
  port?: number;
  supervisorLabels?: Record<string, string>;
  supervisorNamespace?: string;
}

export function registerKube(program: Command): void {
  const kube = program
    .command("kube")
    .description("Kubernetes on paper (docs/kubernetes.md): render the manifests a Lab would run as.");
  kube
    .command("render")
    .description(
      "Print generation N's default-deny policy, NetworkPolicy and Job as one JSON `List` for kubectl apply. The Secret is left out: its tokens are the Supervisor's, made per generation.",
    )
    .requiredOption("--generation <n>", "the generation", parsePositiveInt("--generation", 1, 999_999_999))
    .requiredOption(
      "--parent <commit>",
      "the commit lab/gen-N starts from (full id)",
      byZod("--parent", Commit),
    )
    .requiredOption(
      "--image <ref>",
      "the Lab image pinned by digest: name@sha256:<64 hex>",
      byZod("--image", DigestImage),
    )
    .requiredOption(
      "--supervisor-address <ip>",
      "the address pods reach the Supervisor at (an IP, not a name)",
      byZod("--supervisor-address", SupervisorEndpoint.shape.address),
    )
    .requiredOption(
      "--git-port <port>",
      "the Supervisor's git endpoint port",
      parsePositiveInt("--git-port", 1, 65535),
    )
    .requiredOption(
      "--proxy-port <port>",
      "the Supervisor's model proxy port",
      parsePositiveInt("--proxy-port", 1, 65535),
    )
    .option("--namespace <ns>", "the namespace (default loom)", byZod("--namespace", Namespace))
    .option("--port <port>", "the Lab's /status port (default 8080)", parsePositiveInt("--port", 1, 65535))
    .option(
      "--supervisor-labels <k=v,...>",
      "the Supervisor's pod labels, when it runs in the cluster (else it is named by its address)",
      byZod("--supervisor-labels", Labels, parseLabels),
    )
    .option(
      "--supervisor-namespace <ns>",
      "the Supervisor's namespace, when not the Labs'",
      byZod("--supervisor-namespace", Namespace),
    )
    .action(async (opts: RenderOptions) => {
      const [
        { loadConfig },
        { labEnv, repoLabels },
        { withoutSecrets },
        { RENDERER_ENV },
        manifests,
        policies,
      ] = await Promise.all([
        import("../../shared/config.ts"),
        import("../../supervisor/lifecycle/lab-spec.ts"),
        import("../../shared/secret-env.ts"),
        import("../../supervisor/kube/inputs.ts"),
        import("../../supervisor/kube/manifests.ts"),
        import("../../supervisor/kube/network-policies.ts"),
      ]);
      const { parent, image } = opts;
      const config = loadConfig();
      const repo = repoLabels(config.repoPath)["loom.repo"] ?? "";
      if (opts.supervisorNamespace !== undefined && opts.supervisorLabels === undefined) {
        throw new KubeInputError("--supervisor-namespace needs --supervisor-labels (the Supervisor's pods)");
      }
      const supervisor = {
        address: opts.supervisorAddress,
        gitPort: opts.gitPort,
        proxyPort: opts.proxyPort,
        ...(opts.supervisorLabels
          ? {
              inCluster: {
                podLabels: opts.supervisorLabels,
                ...(opts.supervisorNamespace ? { namespace: opts.supervisorNamespace } : {}),
              },
            }
          : {}),
      };
      const env = withoutSecrets(labEnv(config, "0.0.0.0"));
      for (const name of RENDERER_ENV) delete env[name];
      const common = {
        repo,
        generation: opts.generation,
        supervisor,
        port: opts.port,
        namespace: opts.namespace,
      };
      const items = [
        policies.loomDefaultDeny({ repo, namespace: opts.namespace }),
        policies.labNetworkPolicy(common),
        manifests.labJob({ ...common, parent, image, timeoutMs: config.labTimeoutMs, env }),
      ];
      process.stdout.write(`${JSON.stringify({ apiVersion: "v1", kind: "List", items }, null, 2)}\n`);
    });
}
