import { existsSync, readFileSync } from "node:fs";
import path from "node:path";
import { DockerfileParser, type Instruction } from "dockerfile-ast";
import { validate } from "dockerfile-utils";
import { describe, expect, it } from "vitest";
import { entryPoints } from "../../deploy/bundle";
import { gatewayNodeFlags } from "../../scripts/build-gateway";
import { deployDir, deployedCompose, root } from "./support";

/**
 * hadolint is not in Debian's packages, so the Dockerfiles are checked by dockerfile-utils (the
 * Docker language server's validator: instructions, flags, arguments) and by the structural
 * rules below, on the parsed Dockerfile rather than on text patterns.
 */

const dockerfiles = ["Dockerfile.app", "Dockerfile.gateway"] as const;

function parse(file: string) {
  return DockerfileParser.parse(readFileSync(path.join(deployDir, file), "utf8"));
}

/** The instructions of the last stage: what the image runs with. */
function finalStage(file: string): Instruction[] {
  const instructions = parse(file).getInstructions();
  const lastFrom = instructions.map((instruction) => instruction.getKeyword()).lastIndexOf("FROM");
  return instructions.slice(lastFrom);
}

function argumentsOf(instructions: Instruction[], keyword: string): string[] {
  return instructions
    .filter((instruction) => instruction.getKeyword() === keyword)
    .map((instruction) => instruction.getArgumentsContent() ?? "");
}

describe.each(dockerfiles)("deploy/%s", (file) => {
  it("has nothing the Dockerfile validator reports", () => {
    expect(validate(readFileSync(path.join(deployDir, file), "utf8"))).toEqual([]);
  });

  it("builds in stages from a pinned, small Node 20 base", () => {
    const froms = parse(file).getFROMs();
    expect(froms.length).toBeGreaterThanOrEqual(2);
    for (const from of froms) {
      expect(from.getImageName()).toBe("node");
      expect(from.getImageTag()).toMatch(/^20\.\d+\.\d+-(bookworm-slim|alpine)/);
    }
  });

  it("runs as a non-root user, with a health check and an exec-form command", () => {
    const stage = finalStage(file);
    const users = argumentsOf(stage, "USER");
    expect(users.length, "USER in the final stage").toBeGreaterThan(0);
    expect(users.at(-1)).not.toMatch(/^(root|0)(:|$)/);
    const keywords = stage.map((instruction) => instruction.getKeyword());
    expect(keywords.lastIndexOf("USER"), "USER before the command").toBeLessThan(
      keywords.lastIndexOf("CMD"),
    );
    const healthchecks = argumentsOf(stage, "HEALTHCHECK");
    expect(healthchecks).toHaveLength(1);
    expect(healthchecks[0]).toMatch(/CMD \["node", "-e", "fetch\('http:\/\/127\.0\.0\.1:/);
    const commands = argumentsOf(stage, "CMD");
    expect(commands).toHaveLength(1);
    expect(() => JSON.parse(commands[0] ?? "")).not.toThrow();
  });

  it("copies from the build context only files that exist and that .dockerignore does not drop", () => {
    const ignored = readFileSync(path.join(root, ".dockerignore"), "utf8");
    for (const pattern of [".env", "node_modules", ".data", ".git", ".next"])
      expect(ignored.split("\n")).toContain(pattern);
    const copies = parse(file)
      .getInstructions()
      .filter(
        (instruction) =>
          instruction.getKeyword() === "COPY" && !/--from=/.test(instruction.getTextContent()),
      );
    expect(copies.length).toBeGreaterThan(0);
    for (const copy of copies) {
      const sources = (copy.getArgumentsContent() ?? "").split(/\s+/).slice(0, -1);
      for (const source of sources)
        expect(existsSync(path.join(root, source)), `${file} copies ${source}`).toBe(true);
    }
  });
});

describe("the services image", () => {
  it("runs the programs deploy/bundle.ts builds, for every service the compose files give it", () => {
    const bundled = entryPoints.map((entry) => `dist/${entry.replace(/\.ts$/, ".mjs")}`);
    const command = JSON.parse(
      argumentsOf(finalStage("Dockerfile.gateway"), "CMD")[0] ?? "[]",
    ) as string[];
    expect(command, "the flags npm run gateway uses").toEqual([
      "node",
      ...gatewayNodeFlags,
      "dist/gateway/main.mjs",
    ]);
    for (const file of ["docker-compose.yml", "docker-compose.litellm.yml"]) {
      for (const [name, definition] of Object.entries(deployedCompose(file).services)) {
        if (definition.build?.dockerfile !== "deploy/Dockerfile.gateway") continue;
        const [program, ...args] = definition.command ?? [];
        expect(program, `${file} ${name}`).toBe("node");
        expect(bundled, `${file} ${name}`).toContain(args.find((arg) => !arg.startsWith("--")));
        if (name === "gateway") expect(definition.command).toEqual(command);
      }
    }
  });

  it("the app image serves the standalone build that next.config.ts produces when asked", () => {
    const config = readFileSync(path.join(root, "next.config.ts"), "utf8");
    expect(config).toMatch(
      /output: process\.env\.NEXT_OUTPUT === "standalone" \? "standalone" : undefined/,
    );
    const build = parse("Dockerfile.app").getInstructions();
    expect(argumentsOf(build, "ENV").join(" ")).toMatch(/NEXT_OUTPUT=standalone/);
    expect(argumentsOf(finalStage("Dockerfile.app"), "COPY").join("\n")).toMatch(
      /\.next\/standalone/,
    );
  });
});
