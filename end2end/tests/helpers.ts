import { expect, type Page, type BrowserContext } from "@playwright/test";

export const APP = "http://localhost:3000";
export const PROVIDER = /^http:\/\/127\.0\.0\.1:\d+\//;

/** Waits until the page is interactive (set by `hydrate()` once its islands are alive). */
export async function waitForHydration(page: Page) {
  await expect(page.locator("body")).toHaveAttribute("data-hydrated", "true");
}

/** Opens the home page; with JavaScript on, waits until it is interactive. */
export async function openHome(page: Page, js: boolean) {
  await page.goto("/");
  if (js) await waitForHydration(page);
}

/** From the provider's hosted page, continues as `email` and lands on the profile. */
export async function continueAs(page: Page, email: string) {
  await expect(page).toHaveURL(PROVIDER);
  await page.getByLabel("Email").fill(email);
  await page.getByRole("button", { name: "Continue" }).click();
  await expect(page).toHaveURL(`${APP}/dashboard/profile`);
}

/** Logs in from the home page as a seeded person. */
export async function logIn(page: Page, js: boolean, email = "ada@example.com") {
  await openHome(page, js);
  await page.getByRole("button", { name: "Log in" }).click();
  await continueAs(page, email);
}

/** The app's cookies (localhost), by name. */
export async function appCookies(context: BrowserContext) {
  const cookies = await context.cookies(APP + "/auth/refresh/session");
  return Object.fromEntries(cookies.map((c) => [c.name, c]));
}

/** A unique address for sign-up tests. */
export function uniqueEmail(prefix: string) {
  return `${prefix}.${Date.now()}.${Math.floor(Math.random() * 1e6)}@example.com`;
}

/** Collects Content-Security-Policy violations reported in the console. */
export function cspViolations(page: Page): string[] {
  const violations: string[] = [];
  page.on("console", (message) => {
    if (/Content Security Policy/i.test(message.text())) violations.push(message.text());
  });
  return violations;
}
