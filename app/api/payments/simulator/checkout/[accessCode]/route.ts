import { route } from "@/lib/http/respond";
import { ApiError } from "@/lib/http/errors";
import { requireSimulator } from "@/lib/payments/services";
import { callbackRedirect, simulatorByAccessCode, simulatorCancel, simulatorPay } from "@/lib/payments/simulator";

/**
 * The test checkout's buttons. "Pay" delivers a signed charge.success to our webhook, then sends
 * the browser to the callback, as Paystack does; "Cancel" abandons the transaction and returns.
 */
export const POST = route(async (request) => {
  const services = requireSimulator();
  const accessCode = new URL(request.url).pathname.split("/").pop() ?? "";
  const transaction = simulatorByAccessCode(accessCode);
  if (!transaction) throw new ApiError("not_found", "This test checkout does not exist (the simulator forgets checkouts when the app restarts)");
  const form = await request.formData().catch(() => null);
  const action = form?.get("action");
  if (action === "pay") {
    const { webhookStatus } = await simulatorPay(transaction, { webhookUrl: `${services.appUrl}/api/payments/webhook`, secretKey: services.secretKey });
    services.log.info({ reference: transaction.reference, webhookStatus }, "simulator delivered charge.success");
  } else if (action === "cancel") {
    simulatorCancel(transaction);
  } else {
    throw new ApiError("invalid_request", "action must be pay or cancel", { field: "action" });
  }
  return new Response(null, { status: 303, headers: { location: callbackRedirect(transaction, `${services.appUrl}/payments/callback`) } });
});
