export { checkBearer } from "./bearer.ts";
export { MAX_BODY_BYTES, readBody, readJson } from "./body.ts";
export { HttpError, sendError, sendHtml, sendJson } from "./http-error.ts";
export { describeRoutes, type Handler, type Route, resolve } from "./router.ts";
export { type HttpServerOptions, isLoopback, type RunningHttpServer, startHttpServer } from "./serve.ts";
export { openSse, SseHub, writeSse } from "./sse.ts";
