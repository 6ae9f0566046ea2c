import { json, route } from "@/lib/http/respond";
import { simulatorInitialize } from "@/lib/payments/simulator-api";
import { requireSimulator } from "@/lib/payments/services";

/** The test simulator's POST /transaction/initialize (development only). */
export const POST = route(async (request) => {
  const services = requireSimulator();
  const body: unknown = await request.json().catch(() => null);
  const answer = simulatorInitialize(services, request, body);
  return json(answer.body, { status: answer.status });
});
