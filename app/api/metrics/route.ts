import { route } from "@/lib/http/respond";
import { authorizeScrape } from "@/lib/metrics/access";
import { metricsContentType, renderMetrics } from "@/lib/metrics";
import { appServices } from "@/lib/services";

export const dynamic = "force-dynamic";

/** Prometheus text: sync rows, pushes, breaker, webhooks, payments and request durations. */
export const GET = route(async (request) => {
  const { sql, env } = appServices();
  authorizeScrape(request.headers.get("authorization"), env.METRICS_TOKEN);
  return new Response(await renderMetrics({ sql }), { headers: { "content-type": metricsContentType } });
});

