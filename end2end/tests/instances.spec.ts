import { test, expect, type Page } from "@playwright/test";
import { EXTERNAL_APP, EXTERNAL_APP_2, EXTERNAL_PROVIDER } from "../playwright.config";
import { waitForHydration } from "./helpers";

// Two instances of the app (localhost:3002 and :3003) behind no load balancer at all: each
// tab talks to its own. They share SESSION_SECRET and the session store (Redis), and the
// provider (npm oidc-provider) rotates refresh tokens and revokes the whole grant when a
// rotated one comes back, as RFC 9700 recommends.

const PROVIDER_PAGE = new RegExp(`^${EXTERNAL_PROVIDER.replace(/[.]/g, "\\.")}/`);

async function logIn(page: Page, login: string) {
  await page.goto(`${EXTERNAL_APP}/`);
  await waitForHydration(page);
  await page.getByRole("button", { name: "Log in" }).click();
  await expect(page).toHaveURL(PROVIDER_PAGE);
  await page.locator('input[name="login"]').fill(login);
  await page.locator('input[name="password"]').fill("any password");
  await page.getByRole("button", { name: "Sign-in" }).click();
  await expect(page).toHaveURL(PROVIDER_PAGE);
  await page.getByRole("button", { name: "Continue" }).click();
  await expect(page).toHaveURL(`${EXTERNAL_APP}/dashboard/profile`);
}

test("two tabs on two instances refreshing at once stay signed in", async ({ context }) => {
  const first = await context.newPage();
  await logIn(first, "ada@example.org");
  const second = await context.newPage();
  await second.goto(`${EXTERNAL_APP_2}/dashboard/profile`);
  await expect(second.getByTestId("name")).toHaveText("Ada");

  for (let round = 0; round < 3; round++) {
    // Wait until the access cookie is gone: the next page view of each tab refreshes.
    await expect
      .poll(async () => (await context.cookies(EXTERNAL_APP)).some((c) => c.name === "__Host-sk_access"), {
        timeout: 15_000,
        intervals: [250],
      })
      .toBe(false);
    // Each tab through its own instance at the same moment: both refresh there. (The
    // instances send people back to APP_URL, the first one, afterwards.)
    await Promise.all([
      first.goto(`${EXTERNAL_APP}/dashboard/profile`),
      second.goto(`${EXTERNAL_APP_2}/dashboard/profile`),
    ]);
    await expect(first).toHaveURL(`${EXTERNAL_APP}/dashboard/profile`);
    await expect(second).toHaveURL(`${EXTERNAL_APP}/dashboard/profile`);
    await expect(first.getByTestId("name")).toHaveText("Ada");
    await expect(second.getByTestId("name")).toHaveText("Ada");
  }
});

test("a back-channel logout from the provider ends the session on both instances", async ({ context }) => {
  const first = await context.newPage();
  await logIn(first, "grace@example.org");
  const second = await context.newPage();
  await second.goto(`${EXTERNAL_APP_2}/dashboard/profile`);
  await expect(second.getByTestId("name")).toHaveText("Grace");

  // The person signs out at the provider itself (not through the app): the provider
  // posts a logout token to the app's back-channel logout URL.
  await first.goto(`${EXTERNAL_PROVIDER}/session/end`);
  await first.getByRole("button", { name: /Yes, sign me out/ }).click();
  const ended = Date.now();
  await expect(first.locator("body")).toContainText(/sign-?out/i);

  for (const [page, app] of [
    [second, EXTERNAL_APP_2],
    [first, EXTERNAL_APP],
  ] as const) {
    await page.goto(`${app}/dashboard/profile`);
    expect(app).toBeTruthy();
    await expect(page).toHaveURL(/^http:\/\/localhost:300[23]\/(\?notice=session_ended)?$/);
    await expect(page.getByRole("button", { name: "Log in" })).toBeVisible();
  }
  expect(Date.now() - ended).toBeLessThan(5_000);
});
