import { test, expect } from "@playwright/test";
import { ACCESS_TOKEN_TTL_SECS } from "../playwright.config";
import {
  APP,
  PROVIDER,
  appCookies,
  continueAs,
  cspViolations,
  logIn,
  openHome,
  uniqueEmail,
  waitForHydration,
} from "./helpers";

// The whole journey, once hydrated (reactive forms) and once with JavaScript disabled
// (plain forms posting to the server functions).
for (const js of [true, false]) {
  const mode = js ? "with JavaScript" : "without JavaScript";

  test.describe(mode, () => {
    test.use({ javaScriptEnabled: js });

    test("home page offers Log in and Sign up", async ({ page }) => {
      await openHome(page, js);
      await expect(page.getByRole("button", { name: "Log in" })).toBeVisible();
      await expect(page.getByRole("button", { name: "Sign up" })).toBeVisible();
      // The hashed stylesheet loads (its rules are applied).
      const styled = await page.evaluate(() =>
        [...document.styleSheets].some((s) => s.href?.includes("/pkg/") && s.cssRules.length > 10),
      );
      expect(styled).toBe(true);
      if (js) await page.screenshot({ path: "../docs/screenshots/home.png" });
    });

    test("log in, stay signed in across reloads and refresh, log out", async ({ page, context }) => {
      const violations = cspViolations(page);
      await openHome(page, js);
      await page.getByRole("button", { name: "Log in" }).click();

      // The provider's hosted page is on another site than the app.
      await expect(page).toHaveURL(PROVIDER);
      expect(new URL(page.url()).pathname).toBe("/oauth/authorize");
      const email = page.getByLabel("Email");
      await expect(email).toHaveAttribute("type", "email");
      await expect(page.getByLabel("Name")).toHaveCount(0);
      await expect(page.getByRole("button", { name: "Continue" })).toBeVisible();
      if (js) await page.screenshot({ path: "../docs/screenshots/provider.png" });

      await continueAs(page, "ada@example.com");
      if (js) await waitForHydration(page);
      await expect(page.getByTestId("name")).toHaveText("Ada Lovelace");
      await expect(page.getByTestId("email")).toHaveText("ada@example.com");
      await expect(page.getByTestId("email-verified")).toHaveText("Yes");
      await expect(page.getByTestId("user-id")).toHaveText(/^usr_/);
      await expect(page.getByTestId("organization-id")).toHaveText("org_analytical_engines");
      await expect(page.getByTestId("session-id")).toHaveText(/^ses_/);
      await expect(page.getByTestId("roles")).toHaveText("admin");
      await expect(page.getByTestId("permissions")).toHaveText("reports:read, organization:manage");
      await expect(page.getByTestId("access-token-expires")).toHaveText(/^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC$/);
      await expect(page.getByRole("button", { name: "Log out" })).toBeVisible();
      if (js) await page.screenshot({ path: "../docs/screenshots/profile.png" });

      // Tokens live only in HttpOnly cookies: never in the HTML or hydration data.
      const cookies = await appCookies(context);
      for (const name of ["__Host-sk_access", "__Secure-sk_refresh", "__Host-sk_id"]) {
        expect(cookies[name], name).toBeDefined();
        expect(cookies[name].httpOnly, name).toBe(true);
        expect(cookies[name].secure, name).toBe(true);
        expect(cookies[name].sameSite, name).toBe("Lax");
      }
      expect(cookies["__Secure-sk_refresh"].path).toBe("/auth");
      const html = await page.content();
      expect(html).not.toMatch(/eyJ[\w-]+\.[\w-]+\./);
      if (js) {
        expect(await page.evaluate(() => document.cookie)).toBe("");
      }

      // Reload: still signed in.
      await page.reload();
      await expect(page.getByTestId("email")).toHaveText("ada@example.com");
      const firstExpiry = await page.getByTestId("access-token-expires").textContent();

      // Past the access token's lifetime: still signed in, with a refreshed token.
      await page.waitForTimeout((ACCESS_TOKEN_TTL_SECS + 1) * 1000);
      await page.reload();
      await expect(page).toHaveURL(`${APP}/dashboard/profile`);
      await expect(page.getByTestId("email")).toHaveText("ada@example.com");
      await expect(page.getByTestId("access-token-expires")).not.toHaveText(firstExpiry ?? "");

      // Log out: through the provider's logout URL, back home.
      const logoutRequest = page.waitForRequest((r) => PROVIDER.test(r.url()) && r.url().includes("/oidc/logout"));
      if (js) await waitForHydration(page);
      await page.getByRole("button", { name: "Log out" }).click();
      const logoutUrl = new URL((await logoutRequest).url());
      expect(logoutUrl.searchParams.get("id_token_hint")).toMatch(/^eyJ/);
      expect(logoutUrl.searchParams.get("post_logout_redirect_uri")).toBe(`${APP}/`);
      expect(logoutUrl.searchParams.get("state")).toBeTruthy();
      await expect(page).toHaveURL(new RegExp(`^${APP}/(\\?state=[\\w-]+)?$`));
      await expect(page.getByRole("button", { name: "Log in" })).toBeVisible();
      const after = await appCookies(context);
      expect(Object.keys(after).filter((n) => n.includes("sk_"))).toEqual([]);

      // The profile no longer shows the person.
      await page.goto("/dashboard/profile");
      await expect(page).toHaveURL(`${APP}/`);
      await expect(page.getByRole("button", { name: "Log in" })).toBeVisible();
      expect(violations, "the Content Security Policy blocked nothing").toEqual([]);
    });

    test("sign up shows the Name field and signs the new person in", async ({ page }) => {
      await openHome(page, js);
      await page.getByRole("button", { name: "Sign up" }).click();
      await expect(page).toHaveURL(PROVIDER);
      expect(new URL(page.url()).searchParams.get("prompt")).toBe("create");
      const email = uniqueEmail(js ? "js" : "nojs");
      await page.getByLabel("Name").fill("Katherine Johnson");
      await continueAs(page, email);
      await expect(page.getByTestId("name")).toHaveText("Katherine Johnson");
      await expect(page.getByTestId("email")).toHaveText(email);
      await expect(page.getByTestId("email-verified")).toHaveText("No");
      await expect(page.getByTestId("organization-id")).toHaveText(/^org_/);
    });
  });
}

test("the provider remembers the person: a second login does not ask again", async ({ page, context }) => {
  await logIn(page, true);
  // Forget the app's session only (the provider's own cookie on 127.0.0.1 stays).
  await context.clearCookies({ domain: "localhost" });
  await openHome(page, true);
  await page.getByRole("button", { name: "Log in" }).click();
  await expect(page).toHaveURL(`${APP}/dashboard/profile`);
  await expect(page.getByTestId("email")).toHaveText("ada@example.com");
});

test("an unknown page is a friendly 404", async ({ page }) => {
  const response = await page.goto("/no/such/page");
  expect(response?.status()).toBe(404);
  await expect(page.getByRole("heading", { name: "Page not found" })).toBeVisible();
});

test("a provider error at the callback is a 401 page that shows it escaped", async ({ page }) => {
  const description = encodeURIComponent("<script>window.pwned=1</script>denied");
  // Anyone can send a link with an error: without this browser's login state, its text
  // is not shown (and the login in progress is kept).
  await page.goto("/");
  await page.getByRole("button", { name: "Log in" }).click();
  await expect(page).toHaveURL(PROVIDER);
  const state = new URL(page.url()).searchParams.get("state") ?? "";
  const unsolicited = await page.goto(`/auth/callback?error=access_denied&error_description=${description}`);
  expect(unsolicited?.status()).toBe(400);
  await expect(page.locator(".error-description")).toHaveCount(0);

  const response = await page.goto(
    `/auth/callback?state=${encodeURIComponent(state)}&error=access_denied&error_description=${description}`,
  );
  expect(response?.status()).toBe(401);
  await expect(page.locator(".error-code")).toHaveText("access_denied");
  await expect(page.locator(".error-description")).toHaveText("<script>window.pwned=1</script>denied");
  expect(await page.evaluate(() => (window as unknown as { pwned?: number }).pwned)).toBeUndefined();
});

for (const js of [true, false]) {
  test(`the account page calls the API from the server (${js ? "with" : "without"} JavaScript)`, async ({ browser }) => {
    const context = await browser.newContext({ javaScriptEnabled: js });
    const page = await context.newPage();
    await logIn(page, js, "grace@example.com");
    if (js) await waitForHydration(page);
    await page.getByRole("link", { name: "Account" }).click();
    await expect(page).toHaveURL(`${APP}/dashboard/account`);
    await expect(page.getByTestId("api-subject")).toHaveText(/^usr_/);
    // Grace lacks organization:manage: the permission guard says so.
    await expect(page.getByTestId("organization-report")).toContainText('the "organization:manage" permission');
    await context.close();
  });
}

for (const js of [true, false]) {
  test(`a page behind RequirePermission (${js ? "with" : "without"} JavaScript)`, async ({ browser }) => {
    // Grace is a member: the page says what is missing, and shows no data.
    const grace = await browser.newContext({ javaScriptEnabled: js });
    let page = await grace.newPage();
    await logIn(page, js, "grace@example.com");
    await page.goto("/dashboard/account");
    if (js) await waitForHydration(page);
    await page.getByRole("link", { name: "Organization page" }).click();
    await expect(page).toHaveURL(`${APP}/dashboard/organization`);
    await expect(page.getByRole("heading", { name: "You don't have access to this page" })).toBeVisible();
    await expect(page.getByTestId("no-access")).toContainText("organization:manage");
    await expect(page.getByTestId("organization-page-report")).toHaveCount(0);
    await grace.close();

    // Ada administers her organization: the page shows it.
    const ada = await browser.newContext({ javaScriptEnabled: js });
    page = await ada.newPage();
    await logIn(page, js, "ada@example.com");
    await page.goto("/dashboard/account");
    if (js) await waitForHydration(page);
    await page.getByRole("link", { name: "Organization page" }).click();
    await expect(page).toHaveURL(`${APP}/dashboard/organization`);
    await expect(page.getByTestId("organization-page-report")).toHaveText(
      "Organization org_analytical_engines is managed by Ada Lovelace.",
    );
    await expect(page.getByTestId("no-access")).toHaveCount(0);
    await ada.close();
  });
}
