// CI only (.ci/clients/run): drives the built server with the client that openapi-typescript
// and openapi-fetch make from docs/openapi.json. Each step checks the typed answer.
// Usage: node dist/smoke.js <base url of /api/v1> <admin email> <admin password>
import createClient from "openapi-fetch";
import type { components, paths } from "./schema.js";

type Problem = components["schemas"]["Problem"];

// Node's own globals, without a dependency on @types/node for two names.
declare const process: { argv: string[] };

const [base, email, password] = process.argv.slice(2);
if (!base || !email || !password) {
    throw new Error("usage: smoke.js <base> <email> <password>");
}

function check(condition: boolean, what: string): asserts condition {
    if (!condition) {
        throw new Error(`typescript client: ${what}`);
    }
}

const anonymous = createClient<paths>({ baseUrl: base });
const login = await anonymous.POST("/auth/login", { body: { email, password } });
check(login.data !== undefined, `log-in failed: ${JSON.stringify(login.error)}`);
const api = createClient<paths>({
    baseUrl: base,
    headers: { Authorization: `Bearer ${login.data.token}` },
});

const me = await api.GET("/me");
check(me.data !== undefined && me.data.email === email, "GET /me does not name the admin");
check(me.data.role === "admin", "the admin is not an admin");

const profile = await api.GET("/me/profile");
const etag = profile.response.headers.get("ETag");
check(profile.data !== undefined && etag !== null, "no profile or ETag");
const saved = await api.PUT("/me/profile", {
    params: { header: { "If-Match": etag } },
    body: { ...profile.data, job_title: "Typed in TypeScript" },
});
check(saved.data?.job_title === "Typed in TypeScript", "the profile was not saved");
const stale = await api.PUT("/me/profile", {
    params: { header: { "If-Match": etag } },
    body: profile.data,
});
check(stale.response.status === 412 && stale.error?.current_etag !== undefined, "a stale save was not refused");

const added = await api.POST("/team/members", {
    body: { first_name: "Tess", last_name: "Script", email: "tess@clients.example" },
});
check(added.data !== undefined, `adding a member failed: ${JSON.stringify(added.error)}`);
const members = await api.GET("/team/members", { params: { query: { status: "enabled" } } });
check(members.data?.items.some((m) => m.id === added.data.id) === true, "the new member is not listed");

const key = `ts-${Date.now()}`;
const allocation = {
    params: { path: { member_id: added.data.id }, header: { "Idempotency-Key": key } },
    body: { kind: "export" as const, amount: 25, reason: "typed client" },
};
const first = await api.POST("/team/members/{member_id}/allocations", allocation);
check(first.data?.balance.allocated === 25, `allocation failed: ${JSON.stringify(first.error)}`);
const replay = await api.POST("/team/members/{member_id}/allocations", allocation);
check(replay.response.headers.get("Idempotent-Replayed") === "true", "the retry was not a replay");
check(replay.data?.entry_id === first.data.entry_id, "the replay moved credits again");

const today = new Date().toISOString().slice(0, 10);
const usage = await api.GET("/team/usage", {
    params: { query: { from: today, to: today, bucket: "day" } },
});
// The report is JSON unless CSV is asked for (`Accept: text/csv`): the type says either.
const report = typeof usage.data === "string" ? undefined : usage.data;
check(report?.series.length === 1, `usage report: ${JSON.stringify(usage.error)}`);

const again = await api.POST("/team/members", {
    body: { first_name: "Tess", email: "tess@clients.example" },
});
const problem: Problem | undefined = again.error;
check(again.response.status === 409, `a taken address answered ${again.response.status}`);
check(problem?.type.endsWith("#email-taken") === true, `409 problem: ${JSON.stringify(problem)}`);
console.log("typescript client: log-in, me, profile with If-Match, members, idempotent allocation, usage, 409 problem: ok");
