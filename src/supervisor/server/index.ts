export type { SupervisorApi, SupervisorStats } from "./api.ts";
export { EventHub } from "./event-hub.ts";
export { HttpError, MAX_BODY_BYTES } from "./http-io.ts";
export {
  assertBindAllowed,
  isLoopback,
  type SupervisorServer,
  type SupervisorServerOptions,
  startSupervisorServer,
} from "./server.ts";
