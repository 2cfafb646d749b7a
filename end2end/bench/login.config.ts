import { defineConfig, devices } from "@playwright/test";

// Benchmark only (scripts/bench.sh), not part of the test suite: the login round trip
// against a server that is already running (the release build bench.sh starts).
export default defineConfig({
  testDir: ".",
  timeout: 120_000,
  workers: 1,
  retries: 0,
  reporter: [["list"]],
  use: {
    baseURL: process.env.APP ?? "http://localhost:3000",
    launchOptions: {
      executablePath: process.env.CHROMIUM_PATH ?? "/usr/bin/chromium",
      args: ["--disable-gpu", "--disable-quic", "--disable-sync"],
    },
  },
  projects: [{ name: "chromium", use: { ...devices["Desktop Chrome"] } }],
});
