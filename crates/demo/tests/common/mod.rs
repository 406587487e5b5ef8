//! The chain the cross-component tests run on: an in-process cloud serving on loopback with the
//! demo's team, and a real relay linked to it with its own relay credential.
#![allow(dead_code)]

use std::net::SocketAddr;
use std::path::Path;
use std::time::Duration;

use pitbox_demo::accounts::{DemoAccount, DemoTeam};
use pitbox_relay::{RelayConfig, RelayHandle, UplinkConfig};

pub struct Chain {
    pub cloud: pitbox_cloud::server::AppState,
    pub team: DemoTeam,
    pub cloud_addr: SocketAddr,
    pub relay: RelayHandle,
}

impl Chain {
    /// A cloud in `dir/cloud` and a relay in `dir/relay` linked to it.
    pub async fn start(dir: &Path) -> Chain {
        let cloud_dir = dir.join("cloud");
        std::fs::create_dir_all(&cloud_dir).expect("cloud dir");
        let cloud =
            pitbox_cloud::server::AppState::open(&pitbox_cloud::Config::local(&cloud_dir)).await.expect("cloud");
        let team = pitbox_demo::accounts::seed(&cloud.store).await.expect("seed");
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let cloud_addr = listener.local_addr().expect("addr");
        let app = pitbox_cloud::server::router(cloud.clone()).into_make_service_with_connect_info::<SocketAddr>();
        tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        let mut verifier = pitbox_auth::Verifier::new();
        verifier.add_jwks_json(&cloud.keys.jwks().to_string()).expect("jwks");
        let mut cfg = RelayConfig::new("127.0.0.1:0".parse().expect("addr"), dir.join("relay"), verifier);
        cfg.cloud = Some(UplinkConfig {
            url: format!("ws://{cloud_addr}/ws"),
            token: cloud
                .keys
                .issue_relay("relay-t", &team.team_id, "test relay", Duration::from_secs(3600))
                .expect("cred")
                .0,
            window: 64,
            backoff_min: Duration::from_millis(100),
            backoff_max: Duration::from_secs(1),
        });
        let relay = pitbox_relay::start(cfg).await.expect("relay");
        Chain { cloud, team, cloud_addr, relay }
    }

    /// An access token of one of the team's accounts.
    pub fn token(&self, a: &DemoAccount) -> String {
        self.cloud.keys.issue(&a.user_id, a.role, &self.team.team_id, &a.username).expect("token")
    }
}
