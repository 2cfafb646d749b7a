import { test, expect } from "@playwright/test";
import { APP, PROVIDER, logIn, openHome } from "./helpers";

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
