import type { Command } from "commander";
import { z } from "zod";
import { setRoleByEmail } from "../../lib/auth/profile";
import { withAppDatabase } from "../database";
import { CliError, exitCodes, printRecord, type OutputOptions } from "../output";

const emailArgument = z.string().trim().toLowerCase().pipe(z.email());

export function registerAdminCommands(program: Command): void {
  const admin = program.command("admin").description("grant or revoke dashboard admin rights (needs DATABASE_URL)");

  for (const [verb, role] of [
    ["grant", "admin"],
    ["revoke", "user"],
  ] as const) {
    admin
      .command(`${verb} <email>`)
      .description(verb === "grant" ? "make an existing user an admin" : "make an admin a regular user again")
      .action(async (rawEmail: string) => {
        const parsed = emailArgument.safeParse(rawEmail);
        if (!parsed.success) throw new CliError(`<email>: "${rawEmail}" is not an email address`, exitCodes.usage);
        const profile = await withAppDatabase((sql) => setRoleByEmail(sql, parsed.data, role));
        if (!profile) throw new CliError(`no user with email ${parsed.data}: they must sign up first`);
        printRecord({ email: profile.email, role: profile.role }, program.opts<OutputOptions>());
      });
  }
}
