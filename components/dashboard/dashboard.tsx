"use client";

import { useQuery } from "@tanstack/react-query";
import { api } from "../api";
import { creditUse } from "./balance";
import { BalanceCard, type CreditPricing } from "./balance-card";
import { GatewayCard } from "./gateway-status";
import { KeysPanel, keysQueryKey } from "./keys-panel";
import type { ApiKey } from "./types";
import { UsagePanel } from "./usage-panel";

export interface DashboardProps {
  balance: number;
  keys: ApiKey[];
  models: string[] | null;
  gatewayUrl: string;
  pricing: CreditPricing;
}

/** The interactive part of /analytics; the server renders it with data, so nothing shifts on load. */
export function Dashboard({ balance, keys, models, gatewayUrl, pricing }: DashboardProps) {
  const liveKeys = useQuery({ queryKey: keysQueryKey, queryFn: async () => (await api<{ keys: ApiKey[] }>("/api/keys/manage")).keys, initialData: keys });
  const spent = liveKeys.data.reduce((sum, key) => sum + key.spend, 0);
  return (
    <>
      <section aria-labelledby="balance-heading" className="grid gap-6 md:grid-cols-3">
        <BalanceCard balance={balance} spent={spent} pricing={pricing} />
        <GatewayCard gatewayUrl={gatewayUrl} />
      </section>
      <KeysPanel initialKeys={keys} models={models} gatewayUrl={gatewayUrl} creditsAvailable={creditUse(balance, spent).available} />
      <UsagePanel keys={liveKeys.data} />
    </>
  );
}
