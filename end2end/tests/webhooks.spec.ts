import { test, expect } from "@playwright/test";
import { createHmac, randomUUID } from "node:crypto";
import { APP } from "./helpers";
import { WEBHOOK_SECRET } from "../playwright.config";

// Webhook deliveries as Scalekit sends them, signed here with Node's own crypto (an
// implementation independent of the app's Rust one) per Standard Webhooks:
// base64(HMAC-SHA256(base64-decoded secret, "id.timestamp.body")) as "v1,<signature>".

function sign(id: string, timestamp: number, body: string) {
  const key = Buffer.from(WEBHOOK_SECRET.replace(/^whsec_/, ""), "base64");
  return "v1," + createHmac("sha256", key).update(`${id}.${timestamp}.${body}`).digest("base64");
}

async function deliver(
  request: import("@playwright/test").APIRequestContext,
  id: string,
  body: string,
  { timestamp = Math.floor(Date.now() / 1000), signature }: { timestamp?: number; signature?: string } = {},
) {
  return request.post(`${APP}/webhooks/scalekit`, {
    headers: {
      "content-type": "application/json",
      "webhook-id": id,
      "webhook-timestamp": String(timestamp),
      "webhook-signature": signature ?? sign(id, timestamp, body),
    },
    data: body,
  });
}

test("webhook deliveries: valid, replayed, tampered and stale", async ({ request }) => {
  const id = `msg_${randomUUID()}`;
  const body = JSON.stringify({ id: "evt_1", type: "user.created", data: { id: "usr_1" } });

  expect((await deliver(request, id, body)).status()).toBe(204);
  expect((await deliver(request, id, body)).status(), "a replay is acknowledged, not handled").toBe(200);

  const other = `msg_${randomUUID()}`;
  const forged = await deliver(request, other, body.replace("usr_1", "usr_2"), {
    signature: sign(other, Math.floor(Date.now() / 1000), body),
  });
  expect(forged.status(), "a tampered body").toBe(401);

  const stale = Math.floor(Date.now() / 1000) - 10 * 60;
  expect((await deliver(request, `msg_${randomUUID()}`, body, { timestamp: stale })).status()).toBe(401);
});
