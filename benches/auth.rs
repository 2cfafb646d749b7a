//! Micro-benchmarks of the per-request auth work: access-token validation with a cached
//! key set, authorization-URL building and cookie sealing.
//! Run: `cargo bench --features ssr,test-support --bench auth`

use criterion::{criterion_group, criterion_main, Criterion};
use scalekit_leptos_starter::{
    auth::server::cookies::{AccessCookie, CookiePolicy, SessionBinding},
    config::Settings,
    oidc::{
        authorize::{authorization_url, AuthorizationOptions, AuthorizationRequest, Pkce},
        jwks::JwksCache,
        test_support::{JwksServer, TestKey},
        validate::{validate_access_token, Expectations},
        KeySource,
    },
};
use serde_json::json;
use std::{hint::black_box, time::Duration};
use tower_cookies::Cookies;

fn benches(c: &mut Criterion) {
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    let key = TestKey::new("snk_bench");
    let server = runtime.block_on(JwksServer::start(&[&key]));
    let cache = JwksCache::new(
        reqwest::Client::new(),
        server.url.clone(),
        Duration::from_secs(30),
    );
    let now = jsonwebtoken::get_current_timestamp() as i64;
    let token = key.sign(&json!({
        "iss": "https://acme.scalekit.dev", "aud": ["skc_bench"], "sub": "usr_1",
        "exp": now + 3600, "iat": now, "nbf": now, "sid": "ses_1", "oid": "org_1", "jti": "tkn_1",
    }));
    let expect = Expectations {
        issuer: "https://acme.scalekit.dev".into(),
        client_id: "skc_bench".into(),
        leeway_secs: 60,
        algorithms: vec![jsonwebtoken::Algorithm::RS256],
    };
    // Warm the cache: the benchmark measures the steady state (no provider call).
    runtime
        .block_on(validate_access_token(
            &cache,
            &token,
            &expect,
            KeySource::Untrusted,
        ))
        .expect("valid token");
    let fetches = server.hits();

    c.bench_function("validate access token (RS256, cached keys)", |b| {
        b.to_async(&runtime).iter(|| async {
            black_box(
                validate_access_token(&cache, black_box(&token), &expect, KeySource::Untrusted)
                    .await
                    .is_ok(),
            )
        })
    });
    assert_eq!(server.hits(), fetches, "validation made no provider call");

    let endpoint = url::Url::parse("https://acme.scalekit.dev/oauth/authorize").expect("url");
    let scopes: Vec<String> = ["openid", "profile", "email", "offline_access"]
        .map(String::from)
        .to_vec();
    let options = AuthorizationOptions::default();
    c.bench_function("build authorization URL (with fresh PKCE)", |b| {
        b.iter(|| {
            let pkce = Pkce::generate();
            black_box(authorization_url(
                &endpoint,
                &AuthorizationRequest {
                    client_id: "skc_bench",
                    redirect_uri: "http://localhost:3000/auth/callback",
                    scopes: &scopes,
                    state: "state",
                    nonce: "nonce",
                    code_challenge: &pkce.challenge,
                    options: &options,
                },
            ))
        })
    });

    let settings = Settings::shipped();
    let policy = CookiePolicy::new(&settings.cookies, 600, b"0123456789abcdef0123456789abcdef");
    let binding = SessionBinding::new(0);
    let access = AccessCookie::Jwt {
        token: token.clone(),
    };
    c.bench_function("seal session cookies (access + refresh + ID token)", |b| {
        b.iter(|| {
            let jar = Cookies::default();
            policy
                .set_session(
                    &jar,
                    black_box(&access),
                    300,
                    Some("rt_refresh"),
                    Some(&token),
                    &binding,
                )
                .expect("fits");
            black_box(jar)
        })
    });
    let jar = Cookies::default();
    policy
        .set_session(&jar, &access, 300, None, None, &binding)
        .expect("fits");
    let sealed = jar
        .get(policy.names.access)
        .expect("sealed")
        .value()
        .to_string();
    c.bench_function("unseal the access-token cookie", |b| {
        b.iter(|| {
            let jar = Cookies::default();
            jar.add(tower_cookies::Cookie::new(
                policy.names.access,
                sealed.clone(),
            ));
            black_box(policy.access_token(&jar))
        })
    });
}

criterion_group!(auth, benches);
criterion_main!(auth);
