import type { Command } from "commander";
import { z } from "zod";
import { idFlag, parseFlags } from "../flags";
import { withGateway } from "../gateway";
import { CliError, printRecord, type OutputOptions } from "../output";

export function registerDeleteKey(program: Command): void {
  program
    .command("delete-key <key>")
    .description("delete an API key, given its secret (sk-…) or its token from list-keys")
    .addHelpText("after", "\nExample:\n  creditgate delete-key sk-litellm-xxx")
    .action(async (rawKey: string) => {
      const { "<key>": key } = parseFlags(z.object({ "<key>": idFlag }), { "<key>": rawKey });
      const deleted = await withGateway((client) => client.deleteKeys([key]));
      if (!deleted) throw new CliError("no such key on the gateway");
      // The secret is not echoed back: the key_name-style hint is enough to confirm which one.
      printRecord({ deleted_key: key.startsWith("sk-") ? `sk-…${key.slice(-4)}` : key }, program.opts<OutputOptions>());
    });
}
