import { EngineCliRuntime, type EngineOptions } from "./engine-runtime.ts";

/**
 * Podman through its docker-compatible CLI. No `--init`: it needs catatonit, which not every podman
 * install ships, and podman's own conmon already reaps the container's processes.
 */
export class PodmanRuntime extends EngineCliRuntime {
  constructor(options: EngineOptions = {}) {
    super("podman", { init: false }, options);
  }
}
