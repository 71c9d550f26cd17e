export { RegistryError, type RegistryErrorCode } from "./errors.ts";
export { type Endpoint, type Forwarder, forwardConnections, parseEndpoint } from "./forward.ts";
export { pullOnEngine } from "./pull-on-engine.ts";
export { type PushedImage, type PushImageOptions, pushImage, registryDownHint } from "./push-image.ts";
export {
  LOOM_REGISTRY_HOST,
  LOOM_REGISTRY_PORT_DEFAULT,
  loomRegistryDir,
  type PushedLabImage,
  type PushLabImageOptions,
  pushLabImage,
} from "./push-lab-image.ts";
export {
  type PushedImageRecord,
  pushedImagePath,
  readPushedImage,
  writePushedImage,
} from "./pushed-image.ts";
export {
  atRegistry,
  type DigestReference,
  parseDigestReference,
  parseRegistryAddress,
  REGISTRY_ADDRESS_ACCEPTED,
  requireDigestReference,
} from "./reference.ts";
export { probeRegistry } from "./registry-http.ts";
export {
  findRegistry,
  type RunningRegistry,
  reapRegistry,
  type StartRegistryOptions,
  startRegistry,
} from "./registry-process.ts";
