import { Command, CommanderError } from "commander";
import pino from "pino";
import { createAppLogger } from "../lib/log";
import { registerAddUser } from "./commands/add-user";
import { registerAdminCommands } from "./commands/admin";
import { registerBulkOnboard } from "./commands/bulk-onboard";
import { registerCreateKey } from "./commands/create-key";
import { registerCreateTeams } from "./commands/create-teams";
import { registerCreateUser } from "./commands/create-user";
import { registerDeleteKey } from "./commands/delete-key";
import { registerDeleteUser } from "./commands/delete-user";
import { registerGetUser } from "./commands/get-user";
import { registerHealth } from "./commands/health";
import { registerListKeys } from "./commands/list-keys";
import { registerListUsers } from "./commands/list-users";
import { registerSyncCommands } from "./commands/sync";
import { registerUpdateBudget } from "./commands/update-budget";
import { CliError, exitCodes } from "./output";

const program = new Command()
  .name("creditgate")
  .description(
    "Operate creditgate: gateway users, keys and tiers through the LiteLLM admin API " +
      "(LITELLM_BASE_URL or LITELLM_URL, and LITELLM_MASTER_KEY), and the app's admins and sync queue (DATABASE_URL)",
  )
  .option("--json", "print JSON instead of tables")
  .showHelpAfterError("(run with --help for usage)")
  .exitOverride();

program.command("help [command]").description("show help for a command").action((name?: string) => {
  const target = name ? program.commands.find((command) => command.name() === name) : undefined;
  if (name && !target) throw new CliError(`help: unknown command ${name} (run creditgate help)`, exitCodes.usage);
  (target ?? program).outputHelp();
});

for (const register of [
  registerCreateUser,
  registerListUsers,
  registerGetUser,
  registerDeleteUser,
  registerUpdateBudget,
  registerCreateKey,
  registerListKeys,
  registerDeleteKey,
  registerHealth,
  registerCreateTeams,
  registerAddUser,
  registerBulkOnboard,
  registerAdminCommands,
  registerSyncCommands,
]) {
  register(program);
}
// Every command, nested ones too (admin grant, sync status), reports through main() below.
const withSubcommands = (command: Command): Command[] => [command, ...command.commands.flatMap(withSubcommands)];
for (const command of withSubcommands(program)) command.exitOverride();

/** Messages may quote what the gateway said; the master key never reaches the terminal. */
function redacted(message: string): string {
  const masterKey = process.env.LITELLM_MASTER_KEY;
  const oneLine = message.replace(/\s*\n\s*/g, " ").trim();
  return masterKey && masterKey.length >= 8 ? oneLine.split(masterKey).join("sk-***") : oneLine;
}

/**
 * One failure, one line on stderr: for people a sentence; with LOG_FORMAT=json a pino JSON line
 * (the same format and redaction as the app's and the worker's logs) for log collectors.
 */
function reportFailure(message: string, exitCode: number, json: boolean): number {
  if (json) {
    createAppLogger({ level: "error", service: "cli" }, pino.destination({ dest: 2, sync: true })).error({ exitCode }, redacted(message));
  } else {
    process.stderr.write(`creditgate: ${redacted(message)}\n`);
  }
  return exitCode;
}

/** One place turns every failure into one line on stderr and an exit code. */
async function main(argv: string[]): Promise<number> {
  const json = process.env.LOG_FORMAT === "json";
  try {
    await program.parseAsync(argv);
    return exitCodes.ok;
  } catch (err) {
    if (err instanceof CommanderError) {
      // Help and version exit through here with code 0; usage mistakes with a message already printed.
      return err.exitCode === 0 ? exitCodes.ok : exitCodes.usage;
    }
    if (err instanceof CliError) return reportFailure(err.message, err.exitCode, json);
    return reportFailure(err instanceof Error ? err.message : String(err), exitCodes.failure, json);
  }
}

process.exitCode = await main(process.argv);
