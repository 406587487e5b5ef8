//! Seeding the demo team: idempotent, and a foreign account with a demo name is refused.

use pitbox_cloud::Store;
use pitbox_demo::accounts::{TEAM_NAME, seed};
use pitbox_model::UserRole;

#[tokio::test]
async fn seeding_twice_keeps_the_same_team_and_accounts() {
    let dir = tempfile::tempdir().expect("temp dir");
    let store = Store::open(&format!("sqlite://{}", dir.path().join("db.sqlite").display())).await.expect("store");
    let first = seed(&store).await.expect("seed");
    let second = seed(&store).await.expect("seed again");
    assert_eq!(first.team_id, second.team_id);
    assert_eq!(first.accounts, second.accounts);
    assert_eq!(store.list_teams().await.expect("teams").len(), 1);
    assert_eq!(store.list_users(None).await.expect("users").len(), 5);
    let roles: Vec<UserRole> = first.accounts.iter().map(|a| a.role).collect();
    assert_eq!(roles, [UserRole::Admin, UserRole::Driver, UserRole::Driver, UserRole::Driver, UserRole::Viewer]);
    assert_eq!(first.drivers().len(), 3);
    assert_eq!(first.engineer().map(|a| a.username.as_str()), Some("engineer"));
    let profiles = pitbox_cloud::team::list_profiles(&store, &first.team_id, TEAM_NAME).await.expect("profiles");
    let names: Vec<&str> = profiles.iter().map(|p| p.name.as_str()).collect();
    assert_eq!(names, ["Alex Novak", "Sam Ortega", "Jo Lindqvist"], "driver profiles in stint order");
}

#[tokio::test]
async fn a_demo_username_taken_by_someone_else_is_refused_plainly() {
    let dir = tempfile::tempdir().expect("temp dir");
    let store = Store::open(&format!("sqlite://{}", dir.path().join("db.sqlite").display())).await.expect("store");
    store.create_team("Other Team").await.expect("team");
    pitbox_cloud::accounts::add_user(&store, "alex", "a long password", UserRole::Viewer, Some("Other Team"))
        .await
        .expect("user");
    let e = seed(&store).await.expect_err("alex is not the demo's driver").to_string();
    assert!(e.contains("`alex`") && e.contains(TEAM_NAME) && e.contains("--data-dir"), "{e}");
}
