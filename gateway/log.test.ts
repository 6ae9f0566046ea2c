import { spawn } from "node:child_process";
import path from "node:path";
import { describe, expect, it } from "vitest";

const logModule = path.resolve(import.meta.dirname, "log.ts");

/** Runs `body` in a new Node process with the gateway's logger as `log`; returns its stdout. */
function runWithLogger(body: string): Promise<{ stdout: string }> {
  const script = `import { createLogger } from ${JSON.stringify(logModule)};\nconst log = createLogger("info");\n${body}`;
  const child = spawn(process.execPath, ["--import", "tsx", "--input-type=module", "-e", script], { stdio: ["ignore", "pipe", "ignore"] });
  let stdout = "";
  child.stdout.on("data", (chunk: Buffer) => (stdout += chunk.toString("utf8")));
  return new Promise((resolve, reject) => {
    child.on("error", reject);
    child.on("close", () => resolve({ stdout }));
  });
}

const messages = (stdout: string) => stdout.split("\n").filter(Boolean).map((line) => (JSON.parse(line) as { msg: string }).msg);

describe("the gateway's stdout", () => {
  it("writes the lines still buffered when the process exits, by process.exit or by an uncaught exception", async () => {
    const exited = await runWithLogger(`for (let i = 0; i < 3; i += 1) log.info("line " + i);\nprocess.exit(0);`);
    expect(messages(exited.stdout)).toEqual(["line 0", "line 1", "line 2"]);
    const crashed = await runWithLogger(`log.error("before the crash");\nsetTimeout(() => { throw new Error("boom"); }, 10);`);
    expect(messages(crashed.stdout)).toEqual(["before the crash"]);
  });

  it("a quiet gateway's line appears while it keeps running, not only when a block fills or it exits", async () => {
    // The mark is written straight to stdout 1.5 s after the line: the line must come first.
    const { stdout } = await runWithLogger(`log.info("quiet");\nsetTimeout(() => { process.stdout.write("mark\\n"); process.exit(0); }, 1500);`);
    expect(stdout.indexOf("quiet")).toBeGreaterThanOrEqual(0);
    expect(stdout.indexOf("quiet")).toBeLessThan(stdout.indexOf("mark"));
  });
});
