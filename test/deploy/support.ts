import { readFileSync } from "node:fs";
import path from "node:path";
import { parse } from "yaml";

/**
 * Reading the deployment files the way Docker Compose does, without Docker: YAML with merge
 * keys, then variable interpolation (`${VAR}`, `${VAR:-default}`, `${VAR:?message}`, `$$`).
 */

export const root = path.resolve(import.meta.dirname, "../..");
export const deployDir = path.join(root, "deploy");
export const composeFiles = ["docker-compose.yml", "docker-compose.litellm.yml"] as const;

export type Env = Record<string, string | undefined>;

export interface Interpolated<T> {
  value: T;
  /** `NAME: message` for every `${NAME:?message}` whose variable was empty. */
  missing: string[];
}

/** The end of the `${…}` that starts at `start`, minding nested `${…}` in defaults. */
function closingBrace(text: string, start: number): number {
  let depth = 0;
  for (let i = start; i < text.length; i += 1) {
    if (text.startsWith("${", i)) {
      depth += 1;
      i += 1;
    } else if (text[i] === "}") {
      depth -= 1;
      if (depth === 0) return i;
    }
  }
  throw new Error(`unclosed \${ in ${JSON.stringify(text)}`);
}

function interpolateText(text: string, env: Env, missing: string[]): string {
  let out = "";
  for (let i = 0; i < text.length;) {
    if (text.startsWith("$$", i)) {
      out += "$";
      i += 2;
      continue;
    }
    if (text.startsWith("${", i)) {
      const end = closingBrace(text, i);
      out += expand(text.slice(i + 2, end), env, missing);
      i = end + 1;
      continue;
    }
    const bare = /^\$([A-Za-z_][A-Za-z0-9_]*)/.exec(text.slice(i));
    if (bare?.[1]) {
      out += env[bare[1]] ?? "";
      i += bare[0].length;
      continue;
    }
    out += text[i];
    i += 1;
  }
  return out;
}

function expand(inner: string, env: Env, missing: string[]): string {
  const match = /^([A-Za-z_][A-Za-z0-9_]*)(:?[-?+])?([\s\S]*)$/.exec(inner);
  if (!match?.[1]) throw new Error(`bad variable reference \${${inner}}`);
  const [, name, operator, argument = ""] = match;
  const value = env[name];
  const set = value !== undefined;
  const nonEmpty = set && value !== "";
  switch (operator) {
    case undefined:
      return value ?? "";
    case ":-":
      return nonEmpty ? value : interpolateText(argument, env, missing);
    case "-":
      return set ? value : interpolateText(argument, env, missing);
    case ":?":
    case "?":
      if (operator === ":?" ? nonEmpty : set) return value ?? "";
      missing.push(`${name}: ${interpolateText(argument, env, missing)}`);
      return "";
    case ":+":
      return nonEmpty ? interpolateText(argument, env, missing) : "";
    case "+":
      return set ? interpolateText(argument, env, missing) : "";
    default:
      throw new Error(`unknown operator ${operator}`);
  }
}

export function interpolate<T>(value: T, env: Env): Interpolated<T> {
  const missing: string[] = [];
  const walk = (node: unknown): unknown => {
    if (typeof node === "string") return interpolateText(node, env, missing);
    if (Array.isArray(node)) return node.map(walk);
    if (node !== null && typeof node === "object") {
      return Object.fromEntries(Object.entries(node).map(([key, item]) => [key, walk(item)]));
    }
    return node;
  };
  return { value: walk(value) as T, missing: [...new Set(missing)] };
}

export interface ComposeService {
  image?: string;
  build?: { context: string; dockerfile: string };
  command?: string[];
  environment?: Record<string, string>;
  ports?: (string | { target: number; published?: string; host_ip?: string })[];
  volumes?: string[];
  secrets?: string[];
  depends_on?: Record<string, { condition: string }> | string[];
  healthcheck?: { disable?: boolean; test?: string[] };
  restart?: string;
}

export interface ComposeFile {
  name: string;
  services: Record<string, ComposeService>;
  secrets?: Record<string, { environment?: string; file?: string }>;
  volumes?: Record<string, unknown>;
}

export function readYaml(file: string): unknown {
  return parse(readFileSync(file, "utf8"), { merge: true });
}

export function readCompose(file: string): ComposeFile {
  return readYaml(path.join(deployDir, file)) as ComposeFile;
}

/** deploy/.env.example as Compose reads an env file: KEY=VALUE lines, comments ignored. */
export function exampleEnv(): Env {
  const env: Env = {};
  for (const line of readFileSync(path.join(deployDir, ".env.example"), "utf8").split("\n")) {
    const match = /^([A-Za-z_][A-Za-z0-9_]*)=(.*)$/.exec(line.trim());
    if (match?.[1]) env[match[1]] = match[2] ?? "";
  }
  return env;
}

/** Every variable .env.example mentions, set or commented out. */
export function exampleEnvNames(): Set<string> {
  const text = readFileSync(path.join(deployDir, ".env.example"), "utf8");
  return new Set([...text.matchAll(/^#?\s*([A-Z][A-Z0-9_]*)=/gm)].map((match) => match[1] ?? ""));
}

/** What an operator fills in: the example file with each empty secret generated as its comment says. */
export function filledEnv(): Env {
  const hex = (bytes: number) => "ab".repeat(bytes);
  const generated: Env = {
    POSTGRES_PASSWORD: hex(24),
    LITELLM_MASTER_KEY: `sk-${hex(32)}`,
    KEY_ENCRYPTION_SECRET: hex(32),
    AUTH_JWT_SECRET: hex(32),
    GRAFANA_ADMIN_PASSWORD: "grafana-admin-password",
    OPENAI_API_KEY: "sk-openai-placeholder",
    LITELLM_DB_PASSWORD: hex(24),
    LITELLM_SALT_KEY: `sk-${hex(32)}`,
  };
  const env = exampleEnv();
  for (const [name, value] of Object.entries(env)) {
    if (value === "") env[name] = generated[name];
  }
  return env;
}

/** A compose file as Compose would run it with the operator's filled-in .env. */
export function deployedCompose(file: string): ComposeFile {
  const { value, missing } = interpolate(readCompose(file), filledEnv());
  if (missing.length > 0) throw new Error(`${file} still misses ${missing.join(", ")}`);
  return value;
}

export function dependencies(service: ComposeService): Record<string, string> {
  const dependsOn = service.depends_on ?? {};
  if (Array.isArray(dependsOn))
    return Object.fromEntries(dependsOn.map((name) => [name, "service_started"]));
  return Object.fromEntries(
    Object.entries(dependsOn).map(([name, dependency]) => [name, dependency.condition]),
  );
}

export interface PublishedPort {
  hostIp: string | undefined;
  target: number;
}

/** Compose's short (`[ip:]host:container`) and long port syntax. */
export function publishedPorts(service: ComposeService): PublishedPort[] {
  return (service.ports ?? []).map((port) => {
    if (typeof port !== "string") return { hostIp: port.host_ip, target: Number(port.target) };
    const parts = port.split(":");
    const target = Number((parts.at(-1) ?? "").split("/")[0]);
    return { hostIp: parts.length === 3 ? parts[0] : undefined, target };
  });
}
