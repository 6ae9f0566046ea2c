import { checkHealth } from "@/lib/health";
import { json, route } from "@/lib/http/respond";
import { appServices } from "@/lib/services";

export const dynamic = "force-dynamic";

export const GET = route(async () => {
  const { sql, env } = appServices();
  const report = await checkHealth(sql, env.LITELLM_BASE_URL);
  return json(report, { status: report.status === "down" ? 503 : 200 });
});
