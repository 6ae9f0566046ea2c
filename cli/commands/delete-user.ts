import type { Command } from "commander";
import { z } from "zod";
import { idFlag, parseFlags } from "../flags";
import { withGateway } from "../gateway";
import { CliError, printRecord, type OutputOptions } from "../output";

export function registerDeleteUser(program: Command): void {
  program
    .command("delete-user <id>")
    .description("delete a gateway user and every key of theirs")
    .addHelpText("after", "\nExample:\n  creditgate delete-user developer@company.com")
    .action(async (rawId: string) => {
      const { "<id>": id } = parseFlags(z.object({ "<id>": idFlag }), { "<id>": rawId });
      const deleted = await withGateway((client) => client.deleteUsers([id]));
      if (!deleted) throw new CliError(`no gateway user with id ${id}`);
      printRecord({ deleted_user: id }, program.opts<OutputOptions>());
    });
}
