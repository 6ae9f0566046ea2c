import type { IncomingMessage, ServerResponse } from "node:http";
import type { Caller } from "./auth";
import type { Gateway } from "./context";

/** What a route handler gets: the parsed request and the caller the router authenticated. */
export interface RouteCall {
  gateway: Gateway;
  req: IncomingMessage;
  res: ServerResponse;
  path: string;
  query: URLSearchParams;
  /** Null on routes that need no key. */
  caller: Caller | null;
  /** The body as a JSON object (400 when it is not one, 413 when too large). */
  json(): Promise<Record<string, unknown>>;
}

/** A value to answer with as JSON, or a response the handler already wrote itself. */
export type RouteResult = { status?: number; body: unknown; contentType?: string } | "written";

export interface Route {
  method: "GET" | "POST";
  /** `none`: anyone; `key`: any valid key or the master key; `admin`: the master key or a proxy admin. */
  access: "none" | "key" | "admin";
  /** Whether the public listener serves it; the admin listener serves every route. */
  public: boolean;
  handle(call: RouteCall): Promise<RouteResult>;
}

export const ok = (body: unknown): RouteResult => ({ body });
