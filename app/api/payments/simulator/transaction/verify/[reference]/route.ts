import { json, route } from "@/lib/http/respond";
import { simulatorVerify } from "@/lib/payments/simulator-api";
import { requireSimulator } from "@/lib/payments/services";

/** The test simulator's GET /transaction/verify/:reference (development only). */
export const GET = route(async (request) => {
  const services = requireSimulator();
  const reference = decodeURIComponent(new URL(request.url).pathname.split("/").pop() ?? "");
  const answer = simulatorVerify(services, request, reference);
  return json(answer.body, { status: answer.status });
});
