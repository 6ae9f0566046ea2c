"use client";

import { useState } from "react";

/**
 * Ready-to-paste setups for the new key. `gatewayUrl` is the gateway's root: OpenAI clients and
 * Codex take it with `/v1`, Claude Code without (it adds `/v1/messages` itself).
 */
function snippets(gatewayUrl: string, secret: string, model: string) {
  const baseUrl = `${gatewayUrl}/v1`;
  return {
    curl: `curl ${baseUrl}/chat/completions \\
  -H "Authorization: Bearer ${secret}" \\
  -H "Content-Type: application/json" \\
  -d '{"model": "${model}", "messages": [{"role": "user", "content": "Hello"}]}'`,
    python: `from openai import OpenAI

client = OpenAI(base_url="${baseUrl}", api_key="${secret}")
reply = client.chat.completions.create(
    model="${model}",
    messages=[{"role": "user", "content": "Hello"}],
)
print(reply.choices[0].message.content)`,
    javascript: `import OpenAI from "openai";

const client = new OpenAI({ baseURL: "${baseUrl}", apiKey: "${secret}" });
const reply = await client.chat.completions.create({
  model: "${model}",
  messages: [{ role: "user", content: "Hello" }],
});
console.log(reply.choices[0].message.content);`,
    claude: `# Claude Code, through the gateway's /v1/messages
export ANTHROPIC_BASE_URL="${gatewayUrl}"
export ANTHROPIC_AUTH_TOKEN="${secret}"
export ANTHROPIC_MODEL="${model}"
export ANTHROPIC_DEFAULT_HAIKU_MODEL="${model}"
claude`,
    codex: `# Codex, through the gateway's /v1/responses: in ~/.codex/config.toml
model = "${model}"
model_provider = "creditgate"

[model_providers.creditgate]
name = "creditgate"
base_url = "${baseUrl}"
env_key = "CREDITGATE_API_KEY"
wire_api = "responses"

# and in your shell
export CREDITGATE_API_KEY="${secret}"`,
  };
}

const tabs = [
  { id: "curl", label: "curl" },
  { id: "python", label: "Python" },
  { id: "javascript", label: "JavaScript" },
  { id: "claude", label: "Claude Code" },
  { id: "codex", label: "Codex" },
] as const;

export function CopyButton({ text, label, copiedLabel = "Copied" }: { text: string; label: string; copiedLabel?: string }) {
  const [state, setState] = useState<"idle" | "copied" | "failed">("idle");
  return (
    <button
      type="button"
      onClick={async () => {
        try {
          await navigator.clipboard.writeText(text);
          setState("copied");
        } catch {
          setState("failed");
        }
      }}
      className="shrink-0 rounded-lg border border-slate-300 bg-white px-3 py-1.5 text-sm font-medium text-slate-700 hover:bg-slate-50 focus:outline-none focus-visible:ring-2 focus-visible:ring-indigo-500"
    >
      <span aria-live="polite">{state === "copied" ? copiedLabel : state === "failed" ? "Copy failed: select and copy" : label}</span>
    </button>
  );
}

/** The new key's secret, shown once, with snippets filled with the gateway's address and the key. */
export function SecretReveal({ secret, gatewayUrl, model, onDone }: { secret: string; gatewayUrl: string; model: string; onDone: () => void }) {
  const [tab, setTab] = useState<(typeof tabs)[number]["id"]>("curl");
  const code = snippets(gatewayUrl, secret, model)[tab];
  return (
    <div className="space-y-4">
      <p role="alert" className="rounded-lg bg-amber-50 p-3 text-sm text-amber-900">
        Copy this key now: <strong>you will not see this again.</strong> We keep only a fingerprint of it.
      </p>
      <div>
        <label htmlFor="new-key-secret" className="block text-sm font-medium text-slate-700">
          Your new API key
        </label>
        <div className="mt-1 flex gap-2">
          <input
            id="new-key-secret"
            readOnly
            value={secret}
            onFocus={(event) => event.currentTarget.select()}
            className="block w-full min-w-0 rounded-lg border border-slate-300 bg-slate-50 px-3 py-2 font-mono text-sm"
          />
          <CopyButton text={secret} label="Copy key" />
        </div>
      </div>
      <div>
        <div role="tablist" aria-label="Code snippets" className="flex gap-1 border-b border-slate-200">
          {tabs.map((entry) => (
            <button
              key={entry.id}
              type="button"
              role="tab"
              id={`snippet-tab-${entry.id}`}
              aria-selected={tab === entry.id}
              aria-controls="snippet-panel"
              onClick={() => setTab(entry.id)}
              className="-mb-px border-b-2 border-transparent px-3 py-2 text-sm font-medium text-slate-600 aria-selected:border-indigo-600 aria-selected:text-indigo-700 focus:outline-none focus-visible:ring-2 focus-visible:ring-indigo-500"
            >
              {entry.label}
            </button>
          ))}
        </div>
        <div id="snippet-panel" role="tabpanel" aria-labelledby={`snippet-tab-${tab}`} className="relative mt-2">
          <pre className="overflow-x-auto rounded-lg bg-slate-900 p-4 text-xs leading-relaxed text-slate-100">
            <code>{code}</code>
          </pre>
          <div className="mt-2 flex justify-end">
            <CopyButton text={code} label="Copy snippet" />
          </div>
        </div>
      </div>
      <div className="flex justify-end">
        <button
          type="button"
          onClick={onDone}
          className="rounded-lg bg-indigo-600 px-4 py-2 text-sm font-semibold text-white shadow-sm hover:bg-indigo-500 focus:outline-none focus-visible:ring-2 focus-visible:ring-indigo-500 focus-visible:ring-offset-2"
        >
          I have copied it
        </button>
      </div>
    </div>
  );
}
