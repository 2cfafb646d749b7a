import { test, expect, type Page } from "@playwright/test";
import { ACCESS_TOKEN_TTL_SECS, EXTERNAL_APP, EXTERNAL_PROVIDER } from "../playwright.config";
import { waitForHydration } from "./helpers";

// The core journey against an OpenID provider we did not write: panva's `oidc-provider`
// (OpenID Certified, from npm; see end2end/external-idp/provider.mjs), serving a second
// instance of the app on localhost:3002 that knows it only through the three environment
// variables. The provider's pages are its own development login and consent forms.

const PROVIDER_PAGE = new RegExp(`^${EXTERNAL_PROVIDER.replace(/[.]/g, "\\.")}/`);

async function signInAtProvider(page: Page, login: string) {
  await expect(page).toHaveURL(PROVIDER_PAGE);
  await page.locator('input[name="login"]').fill(login);
  await page.locator('input[name="password"]').fill("any password");
  await page.getByRole("button", { name: "Sign-in" }).click();
  // The provider asks once for consent to the requested scopes.
  await expect(page).toHaveURL(PROVIDER_PAGE);
  await page.getByRole("button", { name: "Continue" }).click();
}

for (const js of [true, false]) {
  const mode = js ? "with JavaScript" : "without JavaScript";

  test.describe(`against oidc-provider, ${mode}`, () => {
    test.use({ javaScriptEnabled: js });

    test("log in, profile, refresh, log out", async ({ page, context }) => {
      const login = js ? "grace@example.org" : "hedy@example.org";
      const name = js ? "Grace" : "Hedy";
      const providerRequests: string[] = [];
      page.on("request", (r) => r.url().startsWith(EXTERNAL_PROVIDER) && providerRequests.push(r.url()));

      await page.goto(`${EXTERNAL_APP}/`);
      if (js) await waitForHydration(page);
      await page.getByRole("button", { name: "Log in" }).click();

      // The authorization request is the standard one, built from the provider's discovery.
      await expect(page).toHaveURL(PROVIDER_PAGE);
      const authorize = new URL(providerRequests.find((u) => new URL(u).pathname === "/auth") ?? "");
      expect(authorize.searchParams.get("response_type")).toBe("code");
      expect(authorize.searchParams.get("scope")).toBe("openid profile email offline_access");
      expect(authorize.searchParams.get("code_challenge_method")).toBe("S256");
      expect(authorize.searchParams.get("redirect_uri")).toBe(`${EXTERNAL_APP}/auth/callback`);

      await signInAtProvider(page, login);
      await expect(page).toHaveURL(`${EXTERNAL_APP}/dashboard/profile`);
      if (js) await waitForHydration(page);
      await expect(page.getByTestId("name")).toHaveText(name);
      await expect(page.getByTestId("email")).toHaveText(login);
      await expect(page.getByTestId("email-verified")).toHaveText("Yes");
      await expect(page.getByTestId("user-id")).toHaveText(login);
      await expect(page.getByTestId("access-token-expires")).toHaveText(/^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC$/);

      const cookies = Object.fromEntries(
        (await context.cookies(`${EXTERNAL_APP}/auth/refresh/session`)).map((c) => [c.name, c]),
      );
      for (const cookie of ["__Host-sk_access", "__Secure-sk_refresh", "__Host-sk_id"]) {
        expect(cookies[cookie], cookie).toBeDefined();
        expect(cookies[cookie].httpOnly, cookie).toBe(true);
      }

      // Past the provider's access-token lifetime: still signed in, refreshed with the
      // provider's refresh token.
      await page.reload();
      await expect(page.getByTestId("email")).toHaveText(login);
      const firstExpiry = await page.getByTestId("access-token-expires").textContent();
      await page.waitForTimeout((ACCESS_TOKEN_TTL_SECS + 1) * 1000);
      await page.reload();
      await expect(page).toHaveURL(`${EXTERNAL_APP}/dashboard/profile`);
      await expect(page.getByTestId("email")).toHaveText(login);
      await expect(page.getByTestId("access-token-expires")).not.toHaveText(firstExpiry ?? "");

      // Log out through the provider's end_session_endpoint (from discovery), which asks
      // for confirmation on its own page, then sends the browser back home.
      const logoutRequest = page.waitForRequest(
        (r) => r.url().startsWith(`${EXTERNAL_PROVIDER}/session/end`),
      );
      if (js) await waitForHydration(page);
      await page.getByRole("button", { name: "Log out" }).click();
      const logoutUrl = new URL((await logoutRequest).url());
      expect(logoutUrl.searchParams.get("id_token_hint")).toMatch(/^eyJ/);
      expect(logoutUrl.searchParams.get("post_logout_redirect_uri")).toBe(`${EXTERNAL_APP}/`);
      expect(logoutUrl.searchParams.get("state")).toBeTruthy();
      await page.getByRole("button", { name: "Yes, sign me out" }).click();
      await expect(page).toHaveURL(new RegExp(`^${EXTERNAL_APP}/(\\?state=[\\w-]+)?$`));
      await expect(page.getByRole("button", { name: "Log in" })).toBeVisible();
      const after = await context.cookies(`${EXTERNAL_APP}/auth/refresh/session`);
      expect(after.map((c) => c.name).filter((n) => n.includes("sk_"))).toEqual([]);

      await page.goto(`${EXTERNAL_APP}/dashboard/profile`);
      await expect(page).toHaveURL(`${EXTERNAL_APP}/`);
    });
  });
}
