import { describe, expect, it, vi } from "vitest";
import { ApiError } from "../http/errors";
import { route, routePattern } from "../http/respond";
import { authorizeScrape } from "./access";
import { appMetrics, renderMetrics, webhookResultOf } from "./index";

// The route wrapper logs each request; these tests only read its metrics.
vi.hoisted(() => {
  process.env.LOG_LEVEL = "silent";
});

describe("route patterns as metric labels", () => {
  it.each([
    ["/api/keys/manage", undefined, "/api/keys/manage"],
    ["/api/payments/simulator/checkout/AC_123", { accessCode: "AC_123" }, "/api/payments/simulator/checkout/[accessCode]"],
    ["/api/payments/simulator/transaction/verify/ref%20one", { reference: "ref one" }, "/api/payments/simulator/transaction/verify/[reference]"],
    ["/api/docs/a/b/c", { slug: ["a", "b", "c"] }, "/api/docs/[...slug]"],
  ])("%s becomes %s", (pathname, params, expected) => {
    expect(routePattern(pathname, params)).toBe(expected);
  });

  it("times a request under its pattern, method and status, never its raw URL", async () => {
    const handler = route(async () => new Response(null, { status: 303 }));
    await handler(new Request("http://localhost/api/payments/simulator/checkout/AC_secretish", { method: "POST" }), {
      params: Promise.resolve({ accessCode: "AC_secretish" }),
    });
    const text = await renderMetrics();
    expect(text).toContain('creditgate_http_request_duration_seconds_count{route="/api/payments/simulator/checkout/[accessCode]",method="POST",status="303"} 1');
    expect(text).not.toContain("AC_secretish");
  });

  it("times failures with the status the caller got", async () => {
    const handler = route(async () => {
      throw new ApiError("not_found", "no such thing");
    });
    const response = await handler(new Request("http://localhost/api/things"));
    expect(response.status).toBe(404);
    const count = await appMetrics().httpDuration.get();
    expect(count.values.some((value) => value.labels.route === "/api/things" && value.labels.status === "404")).toBe(true);
  });
});

describe("webhook results", () => {
  it.each([
    [{ outcome: "credited 1000 credits", needsReview: false }, "credited"],
    [{ outcome: "already paid, nothing changed", needsReview: false }, "no_change"],
    [{ outcome: "already credited", needsReview: false }, "no_change"],
    [{ outcome: "took back 500 credits", needsReview: false }, "refunded"],
    [{ outcome: "ignored transfer.success", needsReview: false }, "ignored"],
    [{ outcome: "needs review: charge.success for a reference we never initialized", needsReview: true }, "needs_review"],
  ])("%j is counted as %s", (outcome, result) => {
    expect(webhookResultOf(outcome)).toBe(result);
  });
});

describe("metrics scrape access", () => {
  it("is open without METRICS_TOKEN", () => {
    expect(() => authorizeScrape(null, undefined)).not.toThrow();
  });

  it("needs the token as a bearer token when METRICS_TOKEN is set", () => {
    const token = "scrape-token-0123456789";
    expect(() => authorizeScrape(`Bearer ${token}`, token)).not.toThrow();
    for (const header of [null, "", `Bearer ${token}x`, token, "Basic abc"]) {
      expect(() => authorizeScrape(header, token), String(header)).toThrow(/METRICS_TOKEN/);
    }
  });
});
