//! The demo team, its accounts and its drivers' profiles, seeded into the cloud's database
//! idempotently: an existing team, user or profile is kept as it is (a second start finds them
//! and changes nothing).

use pitbox_cloud::Store;
use pitbox_cloud::store::User;
use pitbox_model::team::DriverProfile;
use pitbox_model::{DriverRole, DriverStatus, UserRole};

use crate::DemoError;

/// Name of the demo team.
pub const TEAM_NAME: &str = "PitBox Demo Racing";

/// One demo login.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DemoAccount {
    pub username: String,
    /// The demo's fixed password (printed at start; the demo listens on loopback by default).
    pub password: String,
    pub role: UserRole,
    /// Name the driver has in the simulator's entry list (drivers only).
    pub display_name: String,
    /// The cloud's id of the account (drivers send telemetry under it).
    pub user_id: String,
}

/// What the seeding produced.
#[derive(Debug, Clone)]
pub struct DemoTeam {
    pub team_id: String,
    /// Every account, in the order printed: engineer (admin), the three drivers, the viewer.
    pub accounts: Vec<DemoAccount>,
}

impl DemoTeam {
    /// The three drivers in stint order.
    pub fn drivers(&self) -> Vec<&DemoAccount> {
        self.accounts.iter().filter(|a| a.role == UserRole::Driver).collect()
    }

    /// The admin who runs the pit wall (also the relay's uplink identity).
    pub fn engineer(&self) -> Option<&DemoAccount> {
        self.accounts.iter().find(|a| a.role == UserRole::Admin)
    }
}

/// (username, password, role, simulator name) of every demo account.
const SEED: &[(&str, &str, UserRole, &str)] = &[
    ("engineer", "demo-engineer", UserRole::Admin, "Race Engineer"),
    ("alex", "demo-driver-alex", UserRole::Driver, "Alex Novak"),
    ("sam", "demo-driver-sam", UserRole::Driver, "Sam Ortega"),
    ("jo", "demo-driver-jo", UserRole::Driver, "Jo Lindqvist"),
    ("viewer", "demo-viewer", UserRole::Viewer, "Viewer"),
];

/// Creates the team and the accounts that are missing; returns all of them with their ids.
pub async fn seed(store: &Store) -> Result<DemoTeam, DemoError> {
    let team = match store.find_team(TEAM_NAME).await? {
        Some(t) => t,
        None => store.create_team(TEAM_NAME).await?,
    };
    // Password hashing is deliberately slow: the accounts missing are created side by side.
    let users = futures_util::future::join_all(
        SEED.iter().map(|&(username, password, role, _)| ensure_user(store, username, password, role, &team.id)),
    )
    .await;
    let mut accounts = Vec::with_capacity(SEED.len());
    for (&(username, password, role, display), user) in SEED.iter().zip(users) {
        let user = user?;
        if user.role != role || user.team_id.as_deref() != Some(team.id.as_str()) {
            return Err(DemoError::Seed(format!(
                "the data directory has a user `{username}` that is not the demo's {role} of {TEAM_NAME}; \
                 use another --data-dir"
            )));
        }
        accounts.push(DemoAccount {
            username: username.to_string(),
            password: password.to_string(),
            role,
            display_name: display.to_string(),
            user_id: user.id,
        });
    }
    // Driver profiles give the dashboard names, numbers and roles; one edited since is kept.
    for (i, a) in accounts.iter().filter(|a| a.role == UserRole::Driver).enumerate() {
        if pitbox_cloud::team::get_profile(store, &a.user_id).await?.is_none() {
            let profile = DriverProfile {
                id: a.user_id.clone(),
                name: a.display_name.clone(),
                team: team.name.clone(),
                number: u32::try_from(i + 1).unwrap_or(u32::MAX),
                status: DriverStatus::Standby,
                role: if i == 0 { DriverRole::Primary } else { DriverRole::Secondary },
                avatar_url: String::new(),
                telemetry_connected: false,
                last_active: chrono::Utc::now(),
            };
            pitbox_cloud::team::upsert_profile(store, &team.id, &profile).await?;
        }
    }
    Ok(DemoTeam { team_id: team.id, accounts })
}

async fn ensure_user(
    store: &Store,
    username: &str,
    password: &str,
    role: UserRole,
    team_id: &str,
) -> Result<User, DemoError> {
    if let Some(u) = store.user_by_username(username).await? {
        return Ok(u);
    }
    pitbox_cloud::accounts::add_user(store, username, password, role, Some(team_id))
        .await
        .map_err(|e| DemoError::Seed(format!("creating `{username}`: {e}")))
}
