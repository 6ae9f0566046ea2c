import { z } from "zod";
import { envFields, EnvError, parseEnv } from "../lib/env";
import { createLiteLLMClient, GatewayError, type LiteLLMClient } from "../lib/litellm/client";
import { CliError, exitCodes } from "./output";

/**
 * The gateway commands talk only to the LiteLLM admin API, so they work against our gateway and
 * a real LiteLLM proxy alike. The seeds call the address LITELLM_URL; the product calls it
 * LITELLM_BASE_URL; either works, LITELLM_BASE_URL first.
 */
const gatewayEnvSchema = z.object({
  LITELLM_BASE_URL: envFields.LITELLM_BASE_URL,
  LITELLM_MASTER_KEY: envFields.LITELLM_MASTER_KEY,
});

export function gatewayEnv(source: Record<string, string | undefined> = process.env): { baseUrl: string; masterKey: string } {
  const withUrl = { ...source, LITELLM_BASE_URL: source.LITELLM_BASE_URL || source.LITELLM_URL || undefined };
  try {
    const env = parseEnv(gatewayEnvSchema, withUrl);
    if (!env.LITELLM_MASTER_KEY) {
      throw new EnvError(["LITELLM_MASTER_KEY: is required (the gateway's master key; gateway commands use the LiteLLM admin API)"]);
    }
    return { baseUrl: env.LITELLM_BASE_URL, masterKey: env.LITELLM_MASTER_KEY };
  } catch (err) {
    if (err instanceof EnvError) throw new CliError(err.problems.join("; "), exitCodes.usage);
    throw err;
  }
}

/** Runs `work` with an admin client, closing its connections afterwards; gateway errors become one line. */
export async function withGateway<T>(work: (client: LiteLLMClient) => Promise<T>, options: { connections?: number } = {}): Promise<T> {
  const { baseUrl, masterKey } = gatewayEnv();
  const client = createLiteLLMClient({ baseUrl, masterKey, connections: options.connections ?? 8, requestTimeoutMs: 15_000 });
  try {
    return await work(client);
  } catch (err) {
    throw toCliError(err, baseUrl);
  } finally {
    await client.close();
  }
}

export function toCliError(err: unknown, baseUrl: string): unknown {
  if (!(err instanceof GatewayError)) return err;
  // The gateway's own 401 text quotes parts of the key and its hash; the status says enough.
  if (err.status === 401) {
    return new CliError(`the gateway at ${baseUrl} refused the master key (401): set LITELLM_MASTER_KEY to its master key`);
  }
  if (err.status === 403) return new CliError(`${err.message} (is LITELLM_MASTER_KEY the gateway's master key?)`);
  return new CliError(err.message);
}

/**
 * Refuses `--models` naming a model the gateway does not offer, before anything is created: a
 * user or key limited to a misspelt model would fail every request it makes.
 */
export async function assertModelsOffered(client: LiteLLMClient, models: readonly string[] | undefined): Promise<void> {
  if (!models || models.length === 0) return;
  const offered = await client.models();
  const unknown = models.filter((model) => !offered.includes(model));
  if (unknown.length > 0) {
    throw new CliError(`--models: the gateway does not offer ${unknown.join(", ")} (it offers: ${offered.join(", ") || "none"})`, exitCodes.usage);
  }
}

/**
 * The gateway user id an operator gave: the id itself, or for an email that is no user's id, the
 * one user with that email (create-user gives its users generated ids; add-user uses the email).
 * Null when nobody matches; several users with one email are an error naming their ids.
 */
export async function resolveUserId(client: LiteLLMClient, idOrEmail: string): Promise<string | null> {
  if (!idOrEmail.includes("@") || (await client.userInfo(idOrEmail))) return idOrEmail;
  const { users } = await client.listUsers({ page: 1, pageSize: 100, userEmail: idOrEmail });
  const matches = users.filter((user) => user.email?.toLowerCase() === idOrEmail.toLowerCase());
  if (matches.length > 1) {
    throw new CliError(`several gateway users have the email ${idOrEmail} (${matches.map((user) => user.userId).join(", ")}): give one of their ids`);
  }
  return matches[0]?.userId ?? null;
}

/** A gateway error's message for one row of a bulk run. */
export function reasonOf(err: unknown): string {
  if (err instanceof GatewayError || err instanceof CliError) return err.message;
  return err instanceof Error ? err.message : String(err);
}
