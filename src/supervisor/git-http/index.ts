export {
  type CloneAtInput,
  cloneAt,
  GitTransportError,
  type PushBranchInput,
  pushBranch,
} from "../../shared/git/http-client.ts";
export { GitHttpError, type GrantInput } from "./grants.ts";
export { DEFAULT_MAX_PUSH_BYTES, type GitHttpOptions, type GitHttpServer, startGitHttp } from "./server.ts";
