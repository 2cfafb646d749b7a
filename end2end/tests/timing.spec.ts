import { test, expect } from "@playwright/test";
import { APP, openHome } from "./helpers";

// Reports (does not assert) the login round trip with the built-in provider:
// click "Log in" → hosted page → Continue → profile rendered. The median goes to
// PERFORMANCE.md; targets are never timed tests.
test("login round trip (reported, not asserted)", async ({ page, context }) => {
  const rounds: number[] = [];
  for (let i = 0; i < 5; i++) {
    await context.clearCookies();
    await openHome(page, true);
    const started = Date.now();
    await page.getByRole("button", { name: "Log in" }).click();
    await page.getByLabel("Email").fill("ada@example.com");
    await page.getByRole("button", { name: "Continue" }).click();
    await expect(page).toHaveURL(`${APP}/dashboard/profile`);
    await expect(page.getByTestId("email")).toHaveText("ada@example.com");
    rounds.push(Date.now() - started);
  }
  const sorted = [...rounds].sort((a, b) => a - b);
  console.log(`login round trip (ms): ${rounds.join(", ")}; median ${sorted[2]}`);
});
