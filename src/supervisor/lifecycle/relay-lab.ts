import type { Gateway } from "../gateway/gateway.ts";
import { type RelayedTask, relayTask } from "../gateway/relay-task.ts";
import type { LabSockets } from "./lab-sockets.ts";

/**
 * A Lab that reaches its generation through the gateway: the workspace served over git from its own
 * endpoint (git.sock in the socket folder; push of lab/gen-N only, which updates the workspace's
 * checkout), the folder's sockets tunnelled. Everything else (fetching the branch, reading the report)
 * reads the workspace as for a mounted Lab.
 */
export function relayLab(
  gateway: Gateway,
  g: { generation: number; sockets: LabSockets; workspace: string; packages: string | undefined },
): Promise<RelayedTask> {
  const branch = `lab/gen-${g.generation}`;
  return relayTask(gateway, {
    key: `gen-${g.generation}`,
    dir: g.sockets.dir,
    repoPath: g.workspace,
    push: branch,
    checkout: { branch },
    lab: { secretsFile: g.sockets.secretsFile, workspace: g.workspace },
    ...(g.packages ? { packages: g.packages, packagesAt: "node_modules" } : {}),
  });
}
