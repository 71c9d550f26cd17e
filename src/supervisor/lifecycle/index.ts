export type { SupervisorEmit, SupervisorEvent } from "./events.ts";
export { freePort } from "./free-port.ts";
export { DEFAULT_LAB_IMAGE, LAB_LIMITS, LAB_WORKSPACE, labEnv, labSpec, repoLabels } from "./lab-spec.ts";
export { type ReapPorts, type ReapResult, reapLeftovers } from "./reap.ts";
export {
  type LifecycleGit,
  type LifecyclePorts,
  type RunGenerationInput,
  reportPath,
  runGeneration,
  workspaceOf,
} from "./run-generation.ts";
