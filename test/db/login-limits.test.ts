import { expect, it } from "vitest";
import { ApiError } from "../../lib/http/errors";
import { createLoginLimiter } from "../../lib/auth/login-limiter";
import { describeWithDatabase, uniqueEmail } from "../support/db";

const refusal = (promise: Promise<void>) =>
  promise.then(
    () => null,
    (err: unknown) => err,
  );

describeWithDatabase("login limits", (db) => {
  it("app instances share one count: 5 failures on each of two instances spend a limit of 10 for both", async () => {
    const limits = { perEmail: 10, perIp: 1_000, windowSeconds: 60 };
    const [first, second] = [createLoginLimiter(db(), limits), createLoginLimiter(db(), limits)];
    const email = uniqueEmail("shared");
    for (let attempt = 0; attempt < 5; attempt++) {
      await first.assertAllowed(email, "203.0.113.1");
      await first.recordFailure(email, "203.0.113.1");
      await second.assertAllowed(email, "203.0.113.2");
      await second.recordFailure(email, "203.0.113.2");
    }
    for (const instance of [first, second]) {
      const refused = await refusal(instance.assertAllowed(email, "203.0.113.3"));
      expect(refused).toBeInstanceOf(ApiError);
      expect((refused as ApiError).type).toBe("rate_limited");
      expect((refused as ApiError).extra.retryAfterSeconds).toBeGreaterThan(0);
    }
    // Another address is not held back by this one's count.
    await expect(first.assertAllowed(uniqueEmail("other"), "203.0.113.3")).resolves.toBeUndefined();
  });

  it("the per-IP count holds across emails, and a success clears only the email's count", async () => {
    const limits = { perEmail: 3, perIp: 4, windowSeconds: 60 };
    const limiter = createLoginLimiter(db(), limits);
    const ip = `198.51.100.${Math.floor(Math.random() * 250) + 1}`;
    const email = uniqueEmail("cleared");
    await limiter.recordFailure(email, ip);
    await limiter.recordFailure(email, ip);
    await limiter.recordSuccess(email);
    await limiter.recordFailure(uniqueEmail("a"), ip);
    await expect(limiter.assertAllowed(email, ip)).resolves.toBeUndefined();
    await limiter.recordFailure(uniqueEmail("b"), ip);
    expect(await refusal(limiter.assertAllowed(uniqueEmail("c"), ip))).toBeInstanceOf(ApiError);
  });

  it("an email longer than 255 characters is counted like any other", async () => {
    const limiter = createLoginLimiter(db(), { perEmail: 1, perIp: 1_000, windowSeconds: 60 });
    const email = `${"x".repeat(300)}@example.test`;
    await limiter.recordFailure(email, "192.0.2.9");
    expect(await refusal(limiter.assertAllowed(email, "192.0.2.9"))).toBeInstanceOf(ApiError);
  });

  it("a count ends with its window", async () => {
    const limiter = createLoginLimiter(db(), { perEmail: 1, perIp: 1_000, windowSeconds: 1 });
    const email = uniqueEmail("window");
    await limiter.recordFailure(email, "192.0.2.10");
    expect(await refusal(limiter.assertAllowed(email, "192.0.2.10"))).toBeInstanceOf(ApiError);
    await new Promise((resolve) => setTimeout(resolve, 1_100));
    await expect(limiter.assertAllowed(email, "192.0.2.10")).resolves.toBeUndefined();
  });
});
