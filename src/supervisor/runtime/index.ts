export { AppleRuntime } from "./apple.ts";
export { DockerRuntime } from "./docker.ts";
export { LocalRuntime } from "./local.ts";
export { PodmanRuntime } from "./podman.ts";
export type {
  Availability,
  ContainerHandle,
  ContainerInfo,
  ContainerRuntime,
  ContainerState,
  Endpoint,
  HostBindingInput,
  HostContainerInfo,
  HostHandle,
  HostRuntime,
  Launch,
  Mount,
  RunSpecInput,
  RuntimeErrorCode,
  RuntimeLog,
  WaitOptions,
  WaitOutcome,
} from "./runtime.ts";
export { isHostRuntime, launch, parseRunSpec, RunSpec, RuntimeError } from "./runtime.ts";
export { RUNTIME_CHOICES, type RuntimeChoice, selectRuntime } from "./select.ts";
