import { defineConfig, devices } from "@playwright/test";

// The built server (target/debug or target/release) is started here, with its built-in
// identity provider on 127.0.0.1 (another site than the app on localhost) and a short
// access-token lifetime so the refresh path runs within a test.
export const ACCESS_TOKEN_TTL_SECS = 8;
const binary = process.env.APP_BINARY ?? "target/debug/scalekit-leptos-starter";
// The instance with the built-in provider. A production build (scripts/build-release.sh)
// has no built-in provider, so when APP_BINARY is one, this instance runs from a
// development build (DEV_APP_BINARY) and the production binary serves the instance that
// uses the external provider, configured as a deployment is: by environment variables.
const devBinary = process.env.DEV_APP_BINARY ?? binary;

// The external provider (end2end/external-idp/provider.mjs) and the app instance using it.
export const EXTERNAL_PROVIDER = "http://127.0.0.1:3200";
export const EXTERNAL_APP = "http://localhost:3002";
// A second instance of that app, sharing its SESSION_SECRET and session store (Redis on
// 127.0.0.1:3379): the two instances a load balancer would spread people across.
export const EXTERNAL_APP_2 = "http://localhost:3003";
const SESSION_STORE = "redis://127.0.0.1:3379/0";
const EXTERNAL_CLIENT_ID = "leptos-starter";
const EXTERNAL_CLIENT_SECRET = "external-provider-test-secret";
// Standard Webhooks secret for POST /webhooks/scalekit (webhooks.spec.ts signs with it).
export const WEBHOOK_SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";

export default defineConfig({
  testDir: "./tests",
  timeout: 60_000,
  expect: { timeout: 10_000 },
  fullyParallel: false,
  workers: 1,
  forbidOnly: !!process.env.CI,
  retries: 0,
  reporter: [["list"]],
  use: {
    baseURL: "http://localhost:3000",
    trace: "retain-on-failure",
    launchOptions: {
      executablePath: process.env.CHROMIUM_PATH ?? "/usr/bin/chromium",
      args: ["--disable-gpu", "--disable-quic", "--disable-sync"],
    },
  },
  projects: [{ name: "chromium", use: { ...devices["Desktop Chrome"] } }],
  webServer: [
    {
      command: devBinary,
      cwd: "..",
      url: "http://127.0.0.1:3000/",
      reuseExistingServer: false,
      timeout: 60_000,
      stdout: "pipe",
      stderr: "pipe",
      env: {
        APP_URL: "http://localhost:3000",
        DEV_IDP_ADDR: "127.0.0.1:3100",
        DEV_IDP_ACCESS_TOKEN_TTL_SECS: String(ACCESS_TOKEN_TTL_SECS),
        RUST_LOG: "info",
        SCALEKIT_WEBHOOK_SECRET: WEBHOOK_SECRET,
        // The tests must run against the built-in provider, whatever the shell exports.
        SCALEKIT_ENVIRONMENT_URL: "",
        SCALEKIT_CLIENT_ID: "",
        SCALEKIT_CLIENT_SECRET: "",
      },
    },
    // An OpenID provider we did not write (npm `oidc-provider`), and a second instance of
    // the same app configured for it exactly as a fork would configure any provider:
    // only the three environment variables and a session secret.
    {
      command: "node external-idp/provider.mjs",
      url: `${EXTERNAL_PROVIDER}/.well-known/openid-configuration`,
      reuseExistingServer: false,
      timeout: 30_000,
      stdout: "pipe",
      stderr: "pipe",
      env: {
        PORT: "3200",
        APP_URL: EXTERNAL_APP,
        ACCESS_TOKEN_TTL_SECS: String(ACCESS_TOKEN_TTL_SECS),
        CLIENT_ID: EXTERNAL_CLIENT_ID,
        CLIENT_SECRET: EXTERNAL_CLIENT_SECRET,
      },
    },
    // The shared session store: a Redis of the suite's own (no persistence, own port).
    {
      command: "redis-server --port 3379 --bind 127.0.0.1 --save '' --appendonly no --dir /tmp",
      port: 3379,
      reuseExistingServer: false,
      timeout: 30_000,
      stdout: "ignore",
      stderr: "pipe",
    },
    ...[3002, 3003].map((port) => ({
      command: binary,
      cwd: "..",
      url: `http://127.0.0.1:${port}/healthz`,
      reuseExistingServer: false,
      timeout: 60_000,
      stdout: "pipe" as const,
      stderr: "pipe" as const,
      env: {
        APP_URL: EXTERNAL_APP,
        LEPTOS_SITE_ADDR: `127.0.0.1:${port}`,
        RUST_LOG: "info",
        SCALEKIT_ENVIRONMENT_URL: EXTERNAL_PROVIDER,
        SCALEKIT_CLIENT_ID: EXTERNAL_CLIENT_ID,
        SCALEKIT_CLIENT_SECRET: EXTERNAL_CLIENT_SECRET,
        SESSION_SECRET: "external-provider-test-session-secret-0123456789",
        SESSION_STORE_URL: process.env.NO_SESSION_STORE ? "" : SESSION_STORE,
      },
    })),
  ],
});
