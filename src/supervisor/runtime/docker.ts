import { EngineCliRuntime, type EngineOptions } from "./engine-runtime.ts";

/** Docker through its CLI. `--init` so the command is not PID 1 and SIGTERM reaches it. */
export class DockerRuntime extends EngineCliRuntime {
  constructor(options: EngineOptions = {}) {
    super("docker", { init: true }, options);
  }
}
