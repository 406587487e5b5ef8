//! Files that hold a credential (`login.json` with the refresh token, a `pitbox.toml` with a
//! token): readable by the user only, replaced atomically (temporary file, sync, rename). On Unix: mode 0600. On Windows: an explicit ACL that grants the current user full
//! access and nothing else, with inherited entries dropped (the folder's ACL no longer applies).
//! Also: the password prompt without echo.

use anyhow::{Context, Result};
use std::path::Path;

/// Writes `bytes` to `path` (replacing it), readable and writable by the user only.
pub fn write_private(path: &Path, bytes: &[u8]) -> Result<()> {
    // Beside the file, so the rename is atomic: a crash leaves the old file or the new one.
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
        let mut f = opts.open(&tmp).with_context(|| format!("creating {}", tmp.display()))?;
        restrict_to_owner(&tmp)?;
        std::io::Write::write_all(&mut f, bytes).with_context(|| format!("writing {}", tmp.display()))?;
        f.sync_all().with_context(|| format!("writing {}", tmp.display()))?;
    }
    std::fs::rename(&tmp, path).with_context(|| format!("replacing {}", path.display()))?;
    // A rename keeps the file's own ACL on Windows; set it again in case the target existed
    // with wider rights on a file system that merges them.
    restrict_to_owner(path)
}

/// Makes `path` readable by its owner only.
#[cfg(unix)]
pub fn restrict_to_owner(path: &Path) -> Result<()> {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600))
        .with_context(|| format!("making {} private", path.display()))
}

/// Makes `path` readable by the current user only: a protected DACL with one entry.
#[cfg(windows)]
pub fn restrict_to_owner(path: &Path) -> Result<()> {
    use std::os::windows::ffi::OsStrExt;
    use windows_sys::Win32::Foundation::{CloseHandle, GENERIC_ALL, HANDLE, LocalFree};
    use windows_sys::Win32::Security::Authorization::{
        EXPLICIT_ACCESS_W, NO_MULTIPLE_TRUSTEE, SE_FILE_OBJECT, SET_ACCESS, SetEntriesInAclW, SetNamedSecurityInfoW,
        TRUSTEE_IS_SID, TRUSTEE_IS_USER, TRUSTEE_W,
    };
    use windows_sys::Win32::Security::{
        ACL, DACL_SECURITY_INFORMATION, GetTokenInformation, NO_INHERITANCE, PROTECTED_DACL_SECURITY_INFORMATION,
        TOKEN_QUERY, TOKEN_USER, TokenUser,
    };
    use windows_sys::Win32::System::Threading::{GetCurrentProcess, OpenProcessToken};

    let os_err = |what: &str| anyhow::anyhow!("{what} for {}: {}", path.display(), std::io::Error::last_os_error());
    let wide: Vec<u16> = path.as_os_str().encode_wide().chain(std::iter::once(0)).collect();
    // SAFETY: Win32 calls with checked results; the token buffer is 8-aligned and as long as
    // GetTokenInformation asked for; every handle and allocation is released.
    unsafe {
        let mut token: HANDLE = std::ptr::null_mut();
        if OpenProcessToken(GetCurrentProcess(), TOKEN_QUERY, &mut token) == 0 {
            return Err(os_err("OpenProcessToken"));
        }
        let mut len = 0u32;
        GetTokenInformation(token, TokenUser, std::ptr::null_mut(), 0, &mut len);
        let mut buf = vec![0u64; (len as usize).div_ceil(8).max(1)];
        let ok = GetTokenInformation(token, TokenUser, buf.as_mut_ptr().cast(), len, &mut len);
        CloseHandle(token);
        if ok == 0 {
            return Err(os_err("GetTokenInformation"));
        }
        let user = &*(buf.as_ptr() as *const TOKEN_USER);
        let access = EXPLICIT_ACCESS_W {
            grfAccessPermissions: GENERIC_ALL,
            grfAccessMode: SET_ACCESS,
            grfInheritance: NO_INHERITANCE,
            Trustee: TRUSTEE_W {
                pMultipleTrustee: std::ptr::null_mut(),
                MultipleTrusteeOperation: NO_MULTIPLE_TRUSTEE,
                TrusteeForm: TRUSTEE_IS_SID,
                TrusteeType: TRUSTEE_IS_USER,
                ptstrName: user.User.Sid.cast(),
            },
        };
        let mut acl: *mut ACL = std::ptr::null_mut();
        let rc = SetEntriesInAclW(1, &access, std::ptr::null(), &mut acl);
        if rc != 0 {
            anyhow::bail!("SetEntriesInAclW for {}: error {rc}", path.display());
        }
        let rc = SetNamedSecurityInfoW(
            wide.as_ptr(),
            SE_FILE_OBJECT,
            DACL_SECURITY_INFORMATION | PROTECTED_DACL_SECURITY_INFORMATION,
            std::ptr::null_mut(),
            std::ptr::null_mut(),
            acl,
            std::ptr::null(),
        );
        LocalFree(acl.cast());
        if rc != 0 {
            anyhow::bail!("making {} private (SetNamedSecurityInfoW): error {rc}", path.display());
        }
    }
    Ok(())
}

/// Number of entries in `path`'s DACL and whether the only one is the current user's (Windows).
#[cfg(windows)]
pub fn owner_only_acl(path: &Path) -> Result<bool> {
    use std::os::windows::ffi::OsStrExt;
    use windows_sys::Win32::Foundation::LocalFree;
    use windows_sys::Win32::Security::Authorization::{GetNamedSecurityInfoW, SE_FILE_OBJECT};
    use windows_sys::Win32::Security::{ACL, DACL_SECURITY_INFORMATION, PSECURITY_DESCRIPTOR};
    let wide: Vec<u16> = path.as_os_str().encode_wide().chain(std::iter::once(0)).collect();
    // SAFETY: checked Win32 calls; the descriptor is freed once.
    unsafe {
        let mut dacl: *mut ACL = std::ptr::null_mut();
        let mut sd: PSECURITY_DESCRIPTOR = std::ptr::null_mut();
        let rc = GetNamedSecurityInfoW(
            wide.as_ptr(),
            SE_FILE_OBJECT,
            DACL_SECURITY_INFORMATION,
            std::ptr::null_mut(),
            std::ptr::null_mut(),
            &mut dacl,
            std::ptr::null_mut(),
            &mut sd,
        );
        if rc != 0 {
            anyhow::bail!("GetNamedSecurityInfoW for {}: error {rc}", path.display());
        }
        let one = !dacl.is_null() && (*dacl).AceCount == 1;
        LocalFree(sd);
        Ok(one)
    }
}

/// The password prompt without echo (shared with `pitbox relay login`).
pub use pitbox_auth::login::HiddenInput;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn private_files_are_for_the_user_only() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("pitbox.toml");
        std::fs::write(&p, "old").unwrap();
        write_private(&p, b"token = \"x\"\n").unwrap();
        assert_eq!(std::fs::read_to_string(&p).unwrap(), "token = \"x\"\n");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            assert_eq!(std::fs::metadata(&p).unwrap().permissions().mode() & 0o777, 0o600);
        }
        #[cfg(windows)]
        if std::env::var_os("PITBOX_UNDER_WINE").is_some() {
            // Wine accepts SetNamedSecurityInfoW but does not keep a file's DACL.
            pitbox_testkit::skip(
                "private::tests::private_files_are_for_the_user_only (its ACL check)",
                "wine cannot run it: wine does not keep file ACLs; checked on real Windows (CI windows job)",
            );
        } else {
            assert!(owner_only_acl(&p).unwrap(), "the DACL must have the user's entry only");
        }
    }
}
