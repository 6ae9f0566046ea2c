import { checkHealth } from "@/lib/health";
import { json, route } from "@/lib/http/respond";
import { appServices } from "@/lib/services";

export const dynamic = "force-dynamic";

export const GET = route(async () => {
  const { sql, env, keys } = appServices();
  const report = await checkHealth(sql, keys ? env.LITELLM_BASE_URL : undefined, keys?.sync.breaker.state);
  return json(report, { status: report.status === "down" ? 503 : 200 });
});
