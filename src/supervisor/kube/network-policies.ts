import type { INetworkPolicy } from "kubernetes-models/networking.k8s.io/v1/NetworkPolicy";
import type { INetworkPolicyPeer } from "kubernetes-models/networking.k8s.io/v1/NetworkPolicyPeer";
import type { INetworkPolicyPort } from "kubernetes-models/networking.k8s.io/v1/NetworkPolicyPort";
import {
  LabPolicyInput,
  type LabPolicyInput as LabPolicyInputType,
  Namespace,
  parseKubeInput,
  RepoHash,
  StepPolicyInput,
  type StepPolicyInput as StepPolicyInputType,
  type SupervisorEndpoint,
} from "./inputs.ts";
import { labLabels, labName, stepLabels, stepName } from "./manifests.ts";

/**
 * NetworkPolicies are allow-lists that add up: a pod selected by any policy of a direction gets only
 * what some policy allows. So every Loom pod is selected by a deny-all (`loomDefaultDeny`), and each
 * generation's or step's own policy opens exactly its ways to the Supervisor. Nothing allows DNS: the
 * Supervisor is named by address, and DNS through the cluster's resolver would be a way out for data.
 */

/** The Supervisor as a policy peer: its pods by label in the cluster, else its one address. */
export function supervisorPeer(s: SupervisorEndpoint): INetworkPolicyPeer {
  if (s.inCluster) {
    return {
      podSelector: { matchLabels: { ...s.inCluster.podLabels } },
      ...(s.inCluster.namespace
        ? { namespaceSelector: { matchLabels: { "kubernetes.io/metadata.name": s.inCluster.namespace } } }
        : {}),
    };
  }
  return { ipBlock: { cidr: `${s.address}/${s.address.includes(":") ? 128 : 32}` } };
}

const tcp = (port: number): INetworkPolicyPort => ({ protocol: "TCP", port });

/**
 * Selects every Loom pod of one repo and allows nothing either way. Applied once per namespace and
 * repo, before any Job, so a pod whose own policy is missing or late is shut rather than open.
 */
export function loomDefaultDeny(raw: { namespace?: string; repo: string }): INetworkPolicy {
  const namespace = parseKubeInput(Namespace.default("loom"), raw.namespace, "loomDefaultDeny namespace");
  const repo = parseKubeInput(RepoHash, raw.repo, "loomDefaultDeny repo");
  return {
    apiVersion: "networking.k8s.io/v1",
    kind: "NetworkPolicy",
    metadata: { name: `loom-deny-${repo.slice(0, 8)}`, namespace, labels: { loom: "1", "loom.repo": repo } },
    spec: {
      podSelector: { matchLabels: { loom: "1", "loom.repo": repo } },
      policyTypes: ["Ingress", "Egress"],
      ingress: [],
      egress: [],
    },
  };
}

/**
 * One Lab: out to the Supervisor's git endpoint and model proxy only; in from the Supervisor only, on
 * the Lab's port.
 */
export function labNetworkPolicy(raw: LabPolicyInputType): INetworkPolicy {
  const input = parseKubeInput(LabPolicyInput, raw, "labNetworkPolicy");
  const labels = labLabels(input.repo, input.generation);
  const peer = supervisorPeer(input.supervisor);
  return {
    apiVersion: "networking.k8s.io/v1",
    kind: "NetworkPolicy",
    metadata: { name: labName(input.repo, input.generation), namespace: input.namespace, labels },
    spec: {
      podSelector: { matchLabels: labels },
      policyTypes: ["Ingress", "Egress"],
      ingress: [{ from: [peer], ports: [tcp(input.port)] }],
      egress: [{ to: [peer], ports: [tcp(input.supervisor.gitPort), tcp(input.supervisor.proxyPort)] }],
    },
  };
}

/**
 * One step run. `clone`: out to the git endpoint alone, for the init container's fetch (a policy is per
 * pod, not per container, so the step's own code could reach that port too, but holds no token: the
 * Secret is mounted in the init container only). `sealed`: nothing out; the Supervisor swaps it in when
 * the init container ends. The install step keeps the package cache's port in both. No step takes
 * connections.
 */
export function stepNetworkPolicy(raw: StepPolicyInputType): INetworkPolicy {
  const input = parseKubeInput(StepPolicyInput, raw, "stepNetworkPolicy");
  const { repo, subject, step, run } = input;
  const labels = stepLabels(repo, subject, step, run);
  const ports = [
    ...(input.phase === "clone" ? [tcp(input.supervisor.gitPort)] : []),
    ...(input.packagePort === undefined ? [] : [tcp(input.packagePort)]),
  ];
  return {
    apiVersion: "networking.k8s.io/v1",
    kind: "NetworkPolicy",
    metadata: { name: stepName(repo, subject, step, run), namespace: input.namespace, labels },
    spec: {
      podSelector: { matchLabels: labels },
      policyTypes: ["Ingress", "Egress"],
      ingress: [],
      egress: ports.length === 0 ? [] : [{ to: [supervisorPeer(input.supervisor)], ports }],
    },
  };
}
