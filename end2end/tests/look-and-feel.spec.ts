import { test, expect } from "@playwright/test";
import { APP, PROVIDER, logIn, openHome, waitForHydration } from "./helpers";

test.describe("on a phone-sized screen", () => {
  test.use({ viewport: { width: 375, height: 667 } });

  test("home and profile fit without sideways scrolling", async ({ page }) => {
    await openHome(page, true);
    const overflow = () => page.evaluate(() => document.documentElement.scrollWidth > window.innerWidth);
    expect(await overflow()).toBe(false);
    await logIn(page, true);
    await expect(page.getByTestId("session-id")).toBeVisible();
    expect(await overflow()).toBe(false);
    await page.screenshot({ path: "../docs/screenshots/profile-phone.png" });
  });
});

test("the whole login works from the keyboard", async ({ page }) => {
  await openHome(page, true);
  // Tab to "Log in" (the first control after the header link) and press Enter.
  const logIn = page.getByRole("button", { name: "Log in" });
  for (let i = 0; i < 5 && !(await logIn.evaluate((el) => el === document.activeElement)); i++) {
    await page.keyboard.press("Tab");
  }
  await expect(logIn).toBeFocused();
  // The focus is visible.
  const outline = await logIn.evaluate((el) => getComputedStyle(el).outlineStyle);
  expect(outline).not.toBe("none");
  await page.keyboard.press("Enter");
  await expect(page).toHaveURL(PROVIDER);
  // On the hosted page: Tab to the email field, type, press Enter.
  const email = page.getByLabel("Email");
  for (let i = 0; i < 5 && !(await email.evaluate((el) => el === document.activeElement)); i++) {
    await page.keyboard.press("Tab");
  }
  await expect(email).toBeFocused();
  await page.keyboard.type("ada@example.com");
  await page.keyboard.press("Enter");
  await expect(page).toHaveURL(`${APP}/dashboard/profile`);
});

// Every action says what is happening and what went wrong. The network failures are
// real: Chromium aborts the request (as when the app is unreachable).
test.describe("loading and error states", () => {
  test("Log in: the app unreachable gives a clear message, and the buttons work again", async ({ page }) => {
    await openHome(page, true);
    await page.route("**/auth/login", (route) => route.abort("connectionrefused"));
    await page.getByRole("button", { name: "Log in" }).click();
    await expect(page.getByTestId("action-error")).toHaveText(/could not reach the app/);
    await expect(page.getByRole("button", { name: "Log in" })).toBeEnabled();
    await expect(page).toHaveURL(`${APP}/`);

    // Reachable again: the same button works.
    await page.unroute("**/auth/login");
    await page.getByRole("button", { name: "Log in" }).click();
    await expect(page).toHaveURL(PROVIDER);
  });

  test("Log out: a failure keeps the person on the profile with a message", async ({ page }) => {
    await logIn(page, true);
    await waitForHydration(page);
    await page.route("**/auth/logout", (route) => route.abort("connectionrefused"));
    await page.getByRole("button", { name: "Log out" }).click();
    await expect(page.getByTestId("action-error")).toHaveText(/could not reach the app/);
    await expect(page).toHaveURL(`${APP}/dashboard/profile`);
    await expect(page.getByRole("button", { name: "Log out" })).toBeEnabled();
  });

  test("a failed background refresh is shown, and the next one clears it", async ({ page }) => {
    await logIn(page, true);
    await waitForHydration(page);
    let refusing = true;
    await page.route("**/auth/refresh/session", (route) =>
      refusing ? route.abort("connectionrefused") : route.continue(),
    );
    // The page refreshes a little before the short test access token expires.
    await expect(page.getByTestId("action-error")).toContainText("Your session stays", { timeout: 15_000 });
    refusing = false;
    await page.reload();
    await expect(page.getByTestId("email")).toHaveText("ada@example.com");
    await expect(page.getByTestId("action-error")).toHaveCount(0);
  });
});
