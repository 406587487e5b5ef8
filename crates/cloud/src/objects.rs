//! The object store holding telemetry chunks: a local directory by default, S3-compatible with
//! `--storage-url s3://bucket/prefix` (credentials and endpoint from the usual `AWS_*`
//! variables, e.g. `AWS_ENDPOINT`, `AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`, `AWS_REGION`,
//! `AWS_ALLOW_HTTP=true` for a plain-HTTP endpoint).

use std::path::Path as FsPath;
use std::sync::Arc;

use bytes::Bytes;
use object_store::path::Path;
use object_store::{ObjectStore, ObjectStoreExt, PutPayload};

use crate::store::StoreError;

/// Where chunks go.
#[derive(Clone)]
pub struct Objects {
    store: Arc<dyn ObjectStore>,
    prefix: Path,
    describe: String,
    /// The directory of a local store: its files are made private after each write.
    local_root: Option<std::path::PathBuf>,
}

impl std::fmt::Debug for Objects {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.describe)
    }
}

fn obj_err(e: impl std::fmt::Display) -> StoreError {
    StoreError::Object(e.to_string())
}

impl Objects {
    /// A local directory (created when missing).
    pub fn local(dir: &FsPath) -> Result<Objects, StoreError> {
        pitbox_auth::private_fs::private_dir(dir).map_err(|e| obj_err(format!("{}: {e}", dir.display())))?;
        let store = object_store::local::LocalFileSystem::new_with_prefix(dir).map_err(obj_err)?;
        Ok(Objects {
            store: Arc::new(store),
            prefix: Path::default(),
            describe: format!("file://{}", dir.display()),
            local_root: Some(dir.to_path_buf()),
        })
    }

    /// From a URL: `file:///dir`, a plain path, or `s3://bucket[/prefix]`.
    pub fn from_url(url: &str) -> Result<Objects, StoreError> {
        Objects::from_url_with(url, &[])
    }

    /// Like [`Objects::from_url`], with S3 options on top of the environment's, named as
    /// object_store names them (`aws_endpoint`, `aws_access_key_id`, `aws_allow_http` …).
    pub fn from_url_with(url: &str, s3_options: &[(&str, &str)]) -> Result<Objects, StoreError> {
        if let Some(bucket_path) = url.strip_prefix("s3://") {
            let (bucket, prefix) = bucket_path.split_once('/').unwrap_or((bucket_path, ""));
            if bucket.is_empty() {
                return Err(obj_err("s3 URL needs a bucket: s3://BUCKET[/PREFIX]"));
            }
            let mut builder = object_store::aws::AmazonS3Builder::from_env().with_bucket_name(bucket);
            for (k, v) in s3_options {
                let key: object_store::aws::AmazonS3ConfigKey =
                    k.parse().map_err(|e| obj_err(format!("S3 option {k}: {e}")))?;
                builder = builder.with_config(key, *v);
            }
            let store = builder.build().map_err(obj_err)?;
            Ok(Objects {
                store: Arc::new(store),
                prefix: Path::from(prefix),
                describe: format!("s3://{bucket}/{prefix}"),
                local_root: None,
            })
        } else if let Some(dir) = url.strip_prefix("file://") {
            Objects::local(FsPath::new(dir))
        } else if url.contains("://") {
            Err(obj_err(format!("unsupported storage URL `{url}`: use a directory, file:///DIR or s3://BUCKET/PREFIX")))
        } else {
            Objects::local(FsPath::new(url))
        }
    }

    /// An in-memory store (tests).
    pub fn memory() -> Objects {
        Objects {
            store: Arc::new(object_store::memory::InMemory::new()),
            prefix: Path::default(),
            describe: "memory".into(),
            local_root: None,
        }
    }

    fn path(&self, key: &str) -> Path {
        key.split('/').fold(self.prefix.clone(), |p, part| p.join(part))
    }

    /// Writes an object (atomically: readers see all of it or nothing).
    pub async fn put(&self, key: &str, data: Vec<u8>) -> Result<(), StoreError> {
        self.store.put(&self.path(key), PutPayload::from(Bytes::from(data))).await.map_err(obj_err)?;
        if let Some(root) = &self.local_root {
            // The local store writes with the umask's permissions: make the object and the
            // directories down to it the owner's alone.
            let mut at = root.clone();
            for part in key.split('/').filter(|p| !p.is_empty()) {
                at.push(part);
                pitbox_auth::private_fs::private_if_exists(&at)
                    .map_err(|e| obj_err(format!("{}: {e}", at.display())))?;
            }
        }
        Ok(())
    }

    /// Reads an object.
    pub async fn get(&self, key: &str) -> Result<Bytes, StoreError> {
        let r = self.store.get(&self.path(key)).await.map_err(obj_err)?;
        r.bytes().await.map_err(obj_err)
    }

    /// Where this is, for logs (no credentials).
    pub fn describe(&self) -> &str {
        &self.describe
    }
}
