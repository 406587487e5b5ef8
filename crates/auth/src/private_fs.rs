//! Files that hold secrets at rest (keys, password hashes, messages, spooled telemetry) are the
//! owner's alone: directories 0700 and files 0600 on Unix, whatever the umask. On Windows the
//! data directory inherits the ACL of where it is created (a user profile is private to its
//! user); docs/cloud.md "Security model" says where to put it.

use std::io;
use std::path::Path;

/// Creates `dir` (and its parents) when missing and makes it private to the owner.
pub fn private_dir(dir: &Path) -> io::Result<()> {
    std::fs::create_dir_all(dir)?;
    set_mode(dir, 0o700)
}

/// Creates `file` empty when missing (never readable by others, even for a moment) and makes
/// an existing one private to the owner.
pub fn private_file(file: &Path) -> io::Result<()> {
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create(true).truncate(false);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.mode(0o600);
    }
    opts.open(file)?;
    set_mode(file, 0o600)
}

/// Makes `file` private when it exists (a database's `-wal`/`-shm` companions).
pub fn private_if_exists(file: &Path) -> io::Result<()> {
    match std::fs::metadata(file) {
        Ok(m) => set_mode(file, if m.is_dir() { 0o700 } else { 0o600 }),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(e),
    }
}

/// Replaces `path` with `bytes` so that a crash at any moment leaves either the old file or the
/// new one, never a torn or empty one: written to a temporary file beside it (mode 0600 from
/// the start), synced, then renamed over it. What a rotated refresh token is saved with: losing
/// it mid-write would sign the machine out.
pub fn write_private_atomic(path: &Path, bytes: &[u8]) -> io::Result<()> {
    use std::io::Write;
    let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_else(|| "file".into());
    let tmp = path.with_file_name(format!(".{name}.tmp"));
    {
        let mut opts = std::fs::OpenOptions::new();
        opts.write(true).create(true).truncate(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            opts.mode(0o600);
        }
        let mut f = opts.open(&tmp)?;
        set_mode(&tmp, 0o600)?;
        f.write_all(bytes)?;
        f.sync_all()?;
    }
    std::fs::rename(&tmp, path)?;
    // The rename itself is durable once the directory is synced (Unix; Windows has no handle
    // for a directory sync and its rename is journaled by NTFS).
    #[cfg(unix)]
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::File::open(dir)?.sync_all()?;
    }
    Ok(())
}

#[cfg(unix)]
fn set_mode(path: &Path, mode: u32) -> io::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode))
}

#[cfg(not(unix))]
fn set_mode(_path: &Path, _mode: u32) -> io::Result<()> {
    Ok(())
}

#[cfg(all(test, unix))]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    fn mode(p: &Path) -> u32 {
        std::fs::metadata(p).map(|m| m.permissions().mode() & 0o777).unwrap_or(0)
    }

    #[test]
    fn private_whatever_was_there() {
        let tmp = tempfile::tempdir().expect("tmp");
        let dir = tmp.path().join("a/b");
        private_dir(&dir).expect("dir");
        assert_eq!(mode(&dir), 0o700);
        let f = dir.join("x");
        std::fs::write(&f, b"secret").expect("write");
        std::fs::set_permissions(&f, std::fs::Permissions::from_mode(0o644)).expect("chmod");
        private_file(&f).expect("file");
        assert_eq!(mode(&f), 0o600);
        assert_eq!(std::fs::read(&f).expect("read"), b"secret", "an existing file is kept");
        let g = dir.join("new");
        private_file(&g).expect("new");
        assert_eq!(mode(&g), 0o600);
        private_if_exists(&dir.join("absent")).expect("absent is fine");
    }

    #[test]
    fn atomic_replacement_is_private_and_leaves_no_temporary_file() {
        let tmp = tempfile::tempdir().expect("tmp");
        let f = tmp.path().join("login.json");
        std::fs::write(&f, b"old").expect("write");
        std::fs::set_permissions(&f, std::fs::Permissions::from_mode(0o644)).expect("chmod");
        write_private_atomic(&f, b"new").expect("replace");
        assert_eq!(std::fs::read(&f).expect("read"), b"new");
        assert_eq!(mode(&f), 0o600);
        let names: Vec<_> = std::fs::read_dir(tmp.path()).expect("ls").map(|e| e.expect("e").file_name()).collect();
        assert_eq!(names, [std::ffi::OsString::from("login.json")], "no temporary file is left");
    }
}
