import { createServer, type Server } from "node:http";
import { authorizeScrape } from "./access";
import { metricsContentType, renderMetrics } from "./index";

/**
 * The worker's Prometheus endpoint: `GET /metrics` on its own port, because the worker has no
 * HTTP server of its own and its pushes are counted in its own process. Sync rows are the
 * app's to report (they are read from the database), so they are left out here.
 */
export async function startMetricsServer(options: { port: number; host: string; token?: string }): Promise<Server> {
  const server = createServer((req, res) => {
    const path = (req.url ?? "/").split("?")[0];
    if (req.method !== "GET" || path !== "/metrics") {
      res.writeHead(404, { "content-type": "text/plain" }).end("not found: GET /metrics\n");
      return;
    }
    try {
      authorizeScrape(req.headers.authorization ?? null, options.token);
    } catch {
      res.writeHead(401, { "content-type": "text/plain" }).end("GET /metrics needs the METRICS_TOKEN as a bearer token\n");
      return;
    }
    renderMetrics().then(
      (text) => res.writeHead(200, { "content-type": metricsContentType }).end(text),
      () => res.writeHead(500, { "content-type": "text/plain" }).end("metrics unavailable\n"),
    );
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(options.port, options.host, () => resolve());
  });
  return server;
}
