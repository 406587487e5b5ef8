//! Storage: the data directory and a local object store are writable (a probe file is written,
//! read back and deleted); an S3 store accepts a probe object the same way.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use object_store::path::Path as ObjectPath;
use object_store::{ObjectStore, ObjectStoreExt, PutPayload};
use pitbox_model::CheckStatus;
use pitbox_model::rest::ValidationResult;
use serde_json::{Map, json};

use crate::Settings;
use crate::report::{not_configured, result};

fn probe_name() -> String {
    format!(".pitbox-doctor-probe-{}-{:016x}", std::process::id(), fastrand::u64(..))
}

/// Writes, reads back and deletes a probe file in the existing directory `dir`.
fn probe_dir(dir: &Path) -> Result<(), String> {
    let file = dir.join(probe_name());
    let data = b"pitbox doctor probe\n";
    std::fs::write(&file, data).map_err(|e| format!("cannot write {}: {e}", file.display()))?;
    let back = std::fs::read(&file);
    let removed = std::fs::remove_file(&file);
    match back {
        Err(e) => return Err(format!("cannot read back {}: {e}", file.display())),
        Ok(b) if b != data => return Err(format!("{} read back different bytes than were written", file.display())),
        Ok(_) => {}
    }
    removed.map_err(|e| format!("cannot delete {}: {e}", file.display()))
}

/// Checks that `dir` is a writable directory, or can be created as one (the cloud creates its
/// directories on start). Returns what was found.
pub(crate) fn check_dir(dir: &Path) -> Result<String, String> {
    match std::fs::metadata(dir) {
        Ok(m) if m.is_dir() => probe_dir(dir).map(|()| format!("{} is writable", dir.display())),
        Ok(_) => Err(format!("{} is not a directory", dir.display())),
        Err(e) if matches!(e.kind(), std::io::ErrorKind::NotFound | std::io::ErrorKind::NotADirectory) => {
            // The nearest existing ancestor decides whether it can be created.
            let mut up = dir.parent();
            while let Some(p) = up {
                let p = if p.as_os_str().is_empty() { Path::new(".") } else { p };
                match std::fs::metadata(p) {
                    Ok(m) if m.is_dir() => {
                        return probe_dir(p)
                            .map(|()| {
                                format!(
                                    "{} does not exist yet; {} is writable, so it can be created",
                                    dir.display(),
                                    p.display()
                                )
                            })
                            .map_err(|e| format!("{} does not exist and cannot be created: {e}", dir.display()));
                    }
                    Ok(_) => {
                        return Err(format!("{} cannot be created: {} is not a directory", dir.display(), p.display()));
                    }
                    Err(e) if matches!(e.kind(), std::io::ErrorKind::NotFound | std::io::ErrorKind::NotADirectory) => {
                        up = p.parent()
                    }
                    Err(e) => return Err(format!("{} cannot be created: {}: {e}", dir.display(), p.display())),
                }
            }
            Err(format!("{} does not exist and no parent of it does", dir.display()))
        }
        Err(e) => Err(format!("{}: {e}", dir.display())),
    }
}

/// The local directory an object-store URL names, if it is local.
fn local_dir(url: &str) -> Option<PathBuf> {
    if let Some(d) = url.strip_prefix("file://") {
        Some(PathBuf::from(d))
    } else if url.contains("://") {
        None
    } else {
        Some(PathBuf::from(url))
    }
}

/// The `storage` check: the data directory and a local object store.
pub(crate) async fn local(settings: &Settings) -> ValidationResult {
    const COMPONENT: &str = "storage";
    let mut dirs: Vec<(&str, PathBuf)> = Vec::new();
    if let Some(d) = &settings.data_dir {
        dirs.push(("dataDir", d.clone()));
    }
    let storage = settings.effective_storage_url();
    if let Some(url) = &storage {
        if let Some(d) = local_dir(url) {
            dirs.push(("objects", d));
        } else if !url.starts_with("s3://") {
            let m = format!("unsupported storage URL `{url}`: use a directory, file:///DIR or s3://BUCKET/PREFIX");
            return result(COMPONENT, CheckStatus::Error, m, Map::new());
        }
    }
    if dirs.is_empty() {
        return not_configured(
            COMPONENT,
            "give --data-dir (PITBOX_CLOUD_DATA_DIR) or a local --storage-url (PITBOX_CLOUD_STORAGE_URL)",
        );
    }
    let outcome = tokio::task::spawn_blocking(move || {
        dirs.into_iter().map(|(role, d)| (role, d.display().to_string(), check_dir(&d))).collect::<Vec<_>>()
    })
    .await;
    let outcome = match outcome {
        Ok(o) => o,
        Err(e) => return result(COMPONENT, CheckStatus::Error, format!("the storage probe failed: {e}"), Map::new()),
    };
    let mut d = Map::new();
    let mut oks = Vec::new();
    let mut errors = Vec::new();
    for (role, path, r) in outcome {
        d.insert(role.into(), json!(path));
        match r {
            Ok(m) => oks.push(m),
            Err(m) => errors.push(m),
        }
    }
    if errors.is_empty() {
        result(COMPONENT, CheckStatus::Success, oks.join("; "), d)
    } else {
        result(COMPONENT, CheckStatus::Error, errors.join("; "), d)
    }
}

/// Writes, reads back and deletes a probe object in `s3://BUCKET/PREFIX`.
async fn probe_s3(url: &str, options: &[(String, String)]) -> Result<String, String> {
    let bucket_path = url.strip_prefix("s3://").unwrap_or(url);
    let (bucket, prefix) = bucket_path.split_once('/').unwrap_or((bucket_path, ""));
    if bucket.is_empty() {
        return Err(format!("{url}: an S3 URL needs a bucket: s3://BUCKET[/PREFIX]"));
    }
    let mut builder = object_store::aws::AmazonS3Builder::from_env().with_bucket_name(bucket);
    for (k, v) in options {
        let key: object_store::aws::AmazonS3ConfigKey = k.parse().map_err(|e| format!("S3 option {k}: {e}"))?;
        builder = builder.with_config(key, v);
    }
    let store: Arc<dyn ObjectStore> = Arc::new(builder.build().map_err(|e| format!("{url}: {e}"))?);
    let key = ObjectPath::from(prefix).join(probe_name());
    let data: &[u8] = b"pitbox doctor probe\n";
    store.put(&key, PutPayload::from_static(data)).await.map_err(|e| format!("cannot write {url}/{key}: {e}"))?;
    let back = match store.get(&key).await {
        Ok(r) => r.bytes().await.map_err(|e| format!("cannot read back {key}: {e}")),
        Err(e) => Err(format!("cannot read back {key}: {e}")),
    };
    let deleted = store.delete(&key).await;
    let back = back?;
    if back.as_ref() != data {
        return Err(format!("{key} read back different bytes than were written"));
    }
    deleted.map_err(|e| format!("cannot delete {key}: {e}"))?;
    Ok(format!("{url} is writable (a probe object was written, read back and deleted)"))
}

/// The `s3` check: an S3-compatible object store, when the storage URL is `s3://`.
pub(crate) async fn s3(settings: &Settings) -> ValidationResult {
    const COMPONENT: &str = "s3";
    let url = match settings.effective_storage_url() {
        Some(u) if u.starts_with("s3://") => u,
        Some(u) => return not_configured(COMPONENT, &format!("telemetry objects are stored locally in {u}")),
        None => return not_configured(COMPONENT, "give --storage-url s3://BUCKET/PREFIX (PITBOX_CLOUD_STORAGE_URL)"),
    };
    let mut d = Map::new();
    d.insert("url".into(), json!(url));
    if let Ok(e) = std::env::var("AWS_ENDPOINT") {
        d.insert("endpoint".into(), json!(e));
    }
    match tokio::time::timeout(settings.timeout, probe_s3(&url, &settings.s3_options)).await {
        Err(_) => {
            let m = format!("{url}: no answer within {}", humantime::format_duration(settings.timeout));
            result(COMPONENT, CheckStatus::Error, m, d)
        }
        Ok(Err(m)) => result(COMPONENT, CheckStatus::Error, m, d),
        Ok(Ok(m)) => result(COMPONENT, CheckStatus::Success, m, d),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_directory_is_probed_and_left_clean() {
        let t = tempfile::tempdir().expect("tempdir");
        let m = check_dir(t.path()).expect("writable");
        assert!(m.ends_with("is writable"), "{m}");
        assert_eq!(std::fs::read_dir(t.path()).expect("list").count(), 0, "the probe file is deleted");
        let missing = t.path().join("a/b");
        let m = check_dir(&missing).expect("creatable");
        assert!(m.contains("does not exist yet"), "{m}");
        assert!(!missing.exists(), "the doctor does not create directories");
    }

    #[test]
    fn a_file_in_the_way_is_an_error() {
        let t = tempfile::tempdir().expect("tempdir");
        let f = t.path().join("file");
        std::fs::write(&f, b"x").expect("write");
        assert_eq!(check_dir(&f).unwrap_err(), format!("{} is not a directory", f.display()));
        let under = f.join("sub");
        assert_eq!(
            check_dir(&under).unwrap_err(),
            format!("{} cannot be created: {} is not a directory", under.display(), f.display())
        );
    }
}
