import { test, expect } from "@playwright/test";
import { APP, PROVIDER, openHome } from "./helpers";

for (const js of [true, false]) {
  test.describe(js ? "with JavaScript" : "without JavaScript", () => {
    test.use({ javaScriptEnabled: js });

    test("Sign in with SSO routes by the work email", async ({ page }) => {
      await openHome(page, js);
      await page.getByLabel("Work email").fill("grace@example.com");
      await page.getByRole("button", { name: "Sign in with SSO" }).click();
      await expect(page).toHaveURL(PROVIDER);
      await expect(page.locator('[data-routing="Email domain"]')).toHaveText("example.com");
      await expect(page.getByLabel("Email")).toHaveValue("grace@example.com");
      await page.getByRole("button", { name: "Continue" }).click();
      await expect(page).toHaveURL(`${APP}/dashboard/profile`);
      await expect(page.getByTestId("name")).toHaveText("Grace Hopper");
    });

    test("social login buttons ask the provider for that social provider", async ({ page }) => {
      await openHome(page, js);
      await page.getByRole("button", { name: "Continue with GitHub" }).click();
      await expect(page).toHaveURL(PROVIDER);
      await expect(page.locator('[data-routing="Social provider"]')).toHaveText("github");
    });
  });
}

test("a deep link from a customer's portal goes to its organization", async ({ page }) => {
  await page.goto("/login?organization_id=org_acme&connection_id=conn_okta");
  // Opened from outside the app: the person confirms where they sign in.
  await expect(page.getByTestId("confirm-login")).toBeVisible();
  await page.getByRole("button", { name: "Continue to sign in" }).click();
  await expect(page).toHaveURL(PROVIDER);
  await expect(page.locator('[data-routing="Organization"]')).toHaveText("org_acme");
  await expect(page.locator('[data-routing="Connection"]')).toHaveText("conn_okta");
  await page.getByLabel("Email").fill("ada@example.com");
  await page.getByRole("button", { name: "Continue" }).click();
  await expect(page.getByTestId("organization-id")).toHaveText("org_acme");
});

test("a routed login link on another site asks before it signs anyone in", async ({ page }) => {
  // Login CSRF: another site sends the visitor into an SSO connection of its choosing.
  await page.goto("http://127.0.0.1:3100/");
  await page.evaluate((url) => {
    window.location.href = url;
  }, `${APP}/login?organization_id=org_acme&connection_id=conn_okta`);
  await expect(page.getByTestId("confirm-login")).toBeVisible();
  await expect(page.getByTestId("confirm-provider")).toHaveText("127.0.0.1");
  await expect(page.locator('[data-confirm="Organization"]')).toHaveText("org_acme");
  await expect(page.locator('[data-confirm="Connection"]')).toHaveText("conn_okta");
  await page.getByRole("button", { name: "Continue to sign in" }).click();
  await expect(page).toHaveURL(PROVIDER);
  await expect(page.locator('[data-routing="Organization"]')).toHaveText("org_acme");
});

test("an IdP-initiated login starts at the provider and ends on the profile", async ({ page }) => {
  await page.goto("http://127.0.0.1:3100/");
  await page.getByRole("button", { name: "Open the app (IdP-initiated login)" }).click();
  // The provider's portal is another site: the person confirms on the app first.
  await expect(page.getByTestId("confirm-login")).toBeVisible();
  await expect(page.locator('[data-confirm="Connection"]')).toHaveText("conn_dev_saml");
  await page.getByRole("button", { name: "Continue to sign in" }).click();
  await expect(page).toHaveURL(PROVIDER);
  await expect(page.locator('[data-routing="Connection"]')).toHaveText("conn_dev_saml");
  await expect(page.getByLabel("Email")).toHaveValue("ada@example.com");
  await page.getByRole("button", { name: "Continue" }).click();
  await expect(page).toHaveURL(`${APP}/dashboard/profile`);
  await expect(page.getByTestId("organization-id")).toHaveText("org_analytical_engines");
});
