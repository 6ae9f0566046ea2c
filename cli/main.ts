import { Command, CommanderError } from "commander";
import { registerAdminCommands } from "./commands/admin";
import { CliError, exitCodes } from "./output";

const program = new Command()
  .name("creditgate")
  .description("Operate creditgate: dashboard admins (more commands arrive with the operator CLI)")
  .option("--json", "print JSON instead of tables")
  .showHelpAfterError("(run with --help for usage)")
  .exitOverride();

program.command("help [command]").description("show help for a command").action((name?: string) => {
  const target = name ? program.commands.find((command) => command.name() === name) : undefined;
  (target ?? program).outputHelp();
});

registerAdminCommands(program);
for (const command of program.commands) command.exitOverride();

/** One place turns every failure into one line on stderr and an exit code. */
async function main(argv: string[]): Promise<number> {
  try {
    await program.parseAsync(argv);
    return exitCodes.ok;
  } catch (err) {
    if (err instanceof CommanderError) {
      // Help and version exit through here with code 0; usage mistakes with a message already printed.
      return err.exitCode === 0 ? exitCodes.ok : exitCodes.usage;
    }
    if (err instanceof CliError) {
      process.stderr.write(`creditgate: ${err.message}\n`);
      return err.exitCode;
    }
    process.stderr.write(`creditgate: ${err instanceof Error ? err.message : String(err)}\n`);
    return exitCodes.failure;
  }
}

process.exitCode = await main(process.argv);
