//! Issue 23: under umask 022 the database (with its -wal and -shm) and the objects tree were
//! 0644. Data directories are now 0700 and data files 0600 whatever the umask.
#![cfg(unix)]

use std::os::unix::fs::PermissionsExt;
use std::path::Path;

fn mode(p: &Path) -> u32 {
    std::fs::metadata(p).map(|m| m.permissions().mode() & 0o777).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

#[tokio::test]
async fn database_and_objects_are_private_to_the_owner() {
    let tmp = tempfile::tempdir().expect("tmp");
    let dir = tmp.path().join("data");
    std::fs::create_dir(&dir).expect("dir");
    std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o755)).expect("chmod");
    let db = dir.join("pitbox.db");
    let store = pitbox_cloud::Store::open(&format!("sqlite://{}", db.display())).await.expect("store");
    store.create_team("Apex").await.expect("a write, so the WAL exists");
    assert_eq!(mode(&dir), 0o700, "data directory");
    for f in ["pitbox.db", "pitbox.db-wal", "pitbox.db-shm"] {
        let p = dir.join(f);
        if p.exists() {
            assert_eq!(mode(&p), 0o600, "{f}");
        } else {
            assert_ne!(f, "pitbox.db", "the database exists");
        }
    }
    let objects_dir = dir.join("objects");
    let objects = pitbox_cloud::objects::Objects::local(&objects_dir).expect("objects");
    objects.put("team/ses/1.chunk", b"telemetry".to_vec()).await.expect("put");
    assert_eq!(mode(&objects_dir), 0o700, "objects/");
    assert_eq!(mode(&objects_dir.join("team")), 0o700, "objects/team");
    assert_eq!(mode(&objects_dir.join("team/ses")), 0o700, "objects/team/ses");
    assert_eq!(mode(&objects_dir.join("team/ses/1.chunk")), 0o600, "a chunk");
}
