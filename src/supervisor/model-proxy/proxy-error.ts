import { LoomError } from "../../shared/errors.ts";

/** A problem opening or closing a generation's proxy (a Lab's bad request gets an API error instead). */
export class ModelProxyError extends LoomError {
  declare readonly code: "MODEL_PROXY_ALREADY_OPEN" | "MODEL_PROXY_SOCKET" | "MODEL_PROXY_BAD_INPUT";
}
