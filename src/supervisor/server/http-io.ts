// The Supervisor's HTTP helpers are the shared ones; kept as a module so its imports stay short.
export { MAX_BODY_BYTES, readBody, readJson } from "../../shared/http/body.ts";
export { HttpError, sendError, sendJson } from "../../shared/http/http-error.ts";
