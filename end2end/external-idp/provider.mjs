// An OpenID provider we did not write: panva's `oidc-provider` (OpenID Certified, from
// the npm registry), configured for one confidential client — the app started by
// playwright.config.ts on localhost:3002. The browser test external-provider.spec.ts runs
// the core journey (log in, profile, refresh, log out) through it, so the app is proven
// against a standard provider, not only against its own built-in one.
//
// Everything here is provider configuration; nothing in the app knows about it.
import Provider from "oidc-provider";

const port = Number(process.env.PORT ?? 3200);
const issuer = `http://127.0.0.1:${port}`;
const appUrl = process.env.APP_URL ?? "http://localhost:3002";
const accessTokenTtl = Number(process.env.ACCESS_TOKEN_TTL_SECS ?? 8);

export const CLIENT_ID = process.env.CLIENT_ID ?? "leptos-starter";
export const CLIENT_SECRET = process.env.CLIENT_SECRET ?? "external-provider-test-secret";

// Any login name is accepted (the provider's development login form takes any name and
// password); the person's profile is derived from it.
function account(sub) {
  const local = sub.split("@")[0];
  const name = local.charAt(0).toUpperCase() + local.slice(1);
  return {
    accountId: sub,
    async claims() {
      return {
        sub,
        email: sub.includes("@") ? sub : `${sub}@example.org`,
        email_verified: true,
        name,
        given_name: name,
      };
    },
  };
}

const provider = new Provider(issuer, {
  clients: [
    {
      client_id: CLIENT_ID,
      client_secret: CLIENT_SECRET,
      redirect_uris: [`${appUrl}/auth/callback`],
      post_logout_redirect_uris: [`${appUrl}/`],
      grant_types: ["authorization_code", "refresh_token"],
      response_types: ["code"],
      // The method the app uses when a provider offers both (Scalekit expects it).
      token_endpoint_auth_method: "client_secret_post",
      // OpenID Connect Back-Channel Logout: the provider tells the app when a session
      // ends; with the session id, so the app ends exactly that session.
      backchannel_logout_uri: `${appUrl}/auth/backchannel-logout`,
      backchannel_logout_session_required: true,
    },
  ],
  scopes: ["openid", "offline_access", "profile", "email"],
  claims: {
    acr: null,
    sid: null,
    auth_time: null,
    iss: null,
    openid: ["sub"],
    email: ["email", "email_verified"],
    profile: ["name", "given_name"],
  },
  async findAccount(_ctx, sub) {
    return account(sub);
  },
  // OIDC Core 11 lets a provider grant offline access without `prompt=consent` when
  // "other conditions" allow it; hosted providers (Scalekit among them) grant it for
  // `offline_access` alone, so this one is told to do the same for our client.
  async issueRefreshToken(_ctx, client) {
    return client.grantTypeAllowed("refresh_token");
  },
  async expiresWithSession() {
    return false;
  },
  ttl: {
    AccessToken: accessTokenTtl,
    AuthorizationCode: 60,
    IdToken: 3600,
    RefreshToken: 24 * 3600,
    Interaction: 3600,
    Session: 24 * 3600,
    Grant: 24 * 3600,
  },
  features: {
    devInteractions: { enabled: true },
    rpInitiatedLogout: { enabled: true },
    // RFC 7009: the app revokes the refresh token at logout.
    revocation: { enabled: true },
    backchannelLogout: { enabled: true },
  },
  cookies: { keys: ["external-provider-test-cookie-key"] },
  // Refresh tokens rotate, and presenting a rotated one again revokes the whole grant
  // (RFC 9700): two instances racing one refresh token would log the person out.
  rotateRefreshToken: true,
  // Its outgoing calls (back-channel logout) refuse loopback addresses by default; the
  // app is on localhost here.
  fetch: (url, options) => {
    delete options.dispatcher;
    return globalThis.fetch(url, options);
  },
});

// The provider's own warnings about development-only settings are expected here.
provider.on("server_error", (_ctx, err) => console.error("provider server_error", err));

provider.listen(port, "127.0.0.1", () => {
  console.log(`oidc-provider listening on ${issuer}`);
});
