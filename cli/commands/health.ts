import type { Command } from "commander";
import { withGateway } from "../gateway";
import { CliError, printRecord, type OutputOptions } from "../output";

export function registerHealth(program: Command): void {
  program
    .command("health")
    .description("check the gateway: reachable, master key accepted, database connected, models healthy")
    .addHelpText("after", "\nExample:\n  LITELLM_URL=http://127.0.0.1:4001 creditgate health")
    .action(async () => {
      const report = await withGateway(async (client) => {
        await client.liveliness();
        // /v1/models needs the master key on every gateway, so a wrong key fails here, clearly.
        const models = await client.models();
        const readiness = await client.readiness().catch((err: unknown) => ({ status: "unhealthy", db: String((err as Error).message) }));
        const endpoints = await client.endpointHealth();
        return { url: client.baseUrl, models, readiness, endpoints };
      });
      const ok = report.readiness.db === "connected" && report.endpoints.unhealthy === 0;
      printRecord(
        {
          gateway: report.url,
          status: ok ? "healthy" : "unhealthy",
          database: report.readiness.db,
          models: report.models,
          healthy_endpoints: report.endpoints.healthy,
          unhealthy_endpoints: report.endpoints.unhealthy,
          ...(report.endpoints.errors.length > 0 ? { errors: report.endpoints.errors } : {}),
        },
        program.opts<OutputOptions>(),
      );
      if (!ok) throw new CliError(`the gateway at ${report.url} is not healthy`);
    });
}
