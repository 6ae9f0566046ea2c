import { describe, expect, it } from "vitest";
import { chatBody, withGateway } from "./support/harness";
import { chatCost } from "./support/upstream";

const h = withGateway({ extraConfig: "" });

interface TeamInfo {
  team_info: { spend: number };
  team_memberships: { user_id: string; spend: number }[];
}

describe("spend survives a restart", () => {
  it("key, user and team spend after a restart equal the spend before it, and the budget still holds", async () => {
    const userId = `restart-user-${Date.now()}`;
    await h.admin("/user/new", { user_id: userId, auto_create_key: false });
    const team = await h.admin("/team/new", { team_alias: "restart-team" });
    const teamId = (team.body as { team_id: string }).team_id;
    await h.admin("/team/member_add", { team_id: teamId, member: { role: "user", user_id: userId }, max_budget_in_team: 1 });
    const { key, token } = await h.newKey({ user_id: userId, team_id: teamId, max_budget: 4 * chatCost });
    const client = h.client(key);
    for (let call = 0; call < 3; call += 1) await client.chat.completions.create(chatBody());
    const stream = await client.chat.completions.create({ ...chatBody(), stream: true });
    for await (const _chunk of stream) {
      // drain
    }

    const keyBefore = (await h.admin(`/key/info?key=${token}`)).body as { info: { spend: number } };
    const userBefore = (await h.admin(`/user/info?user_id=${userId}`)).body as { spend: number };
    const teamBefore = (await h.admin(`/team/info?team_id=${teamId}`)).body as TeamInfo;
    expect(keyBefore.info.spend).toBeCloseTo(4 * chatCost, 12);

    // SIGTERM: the gateway stops accepting, flushes spend, exits; a new process starts cold.
    await h.restart();

    const keyAfter = (await h.admin(`/key/info?key=${token}`)).body as { info: { spend: number } };
    const userAfter = (await h.admin(`/user/info?user_id=${userId}`)).body as { spend: number };
    const teamAfter = (await h.admin(`/team/info?team_id=${teamId}`)).body as TeamInfo;
    expect(keyAfter.info.spend).toBeCloseTo(keyBefore.info.spend, 12);
    expect(userAfter.spend).toBeCloseTo(userBefore.spend, 12);
    expect(teamAfter.team_info.spend).toBeCloseTo(teamBefore.team_info.spend, 12);
    expect(teamBefore.team_memberships[0]?.spend).toBeCloseTo(4 * chatCost, 12);
    expect(teamAfter.team_memberships[0]?.spend).toBeCloseTo(4 * chatCost, 12);

    const refused = await h.call("/v1/chat/completions", { key, body: chatBody() });
    expect(refused.status).toBe(402);
    const logs = (await h.admin(`/spend/logs?api_key=${token}`)).body as unknown[];
    expect(logs).toHaveLength(4);
  });
});
