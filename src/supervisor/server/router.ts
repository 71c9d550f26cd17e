export { type Handler, type Route, resolve } from "../../shared/http/router.ts";
