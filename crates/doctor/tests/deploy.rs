//! What deploy/ promises that can be run here without Docker: the container entrypoint hands a
//! signing key given as text to the cloud as a file, and a key made the way docs/deploy.md says
//! (`openssl genpkey -algorithm ed25519`) is one the cloud loads.

use std::path::PathBuf;
use std::process::Command;

fn repo() -> PathBuf {
    pitbox_testkit::repo_root()
}

#[test]
fn entrypoint_turns_the_pem_variable_into_a_private_key_file() {
    let t = tempfile::tempdir().expect("tempdir");
    // A stand-in `pitbox` that shows what it was given.
    let bin = t.path().join("bin");
    std::fs::create_dir(&bin).expect("mkdir");
    let fake = bin.join("pitbox");
    std::fs::write(
        &fake,
        "#!/usr/bin/env bash\necho \"args=$*\"\necho \"file=$PITBOX_CLOUD_SIGNING_KEY_FILE\"\n\
         echo \"pem_var=${PITBOX_SIGNING_KEY_PEM:-unset}\"\nstat -c 'mode=%a' \"$PITBOX_CLOUD_SIGNING_KEY_FILE\"\n\
         cat \"$PITBOX_CLOUD_SIGNING_KEY_FILE\"\n",
    )
    .expect("write");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&fake, std::fs::Permissions::from_mode(0o755)).expect("chmod");
    }
    let path = format!("{}:{}", bin.display(), std::env::var("PATH").unwrap_or_default());
    let pem = "-----BEGIN PRIVATE KEY-----\nMC4CAQAwBQYDK2VwBCIEIAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA\n-----END PRIVATE KEY-----";
    let out = Command::new(repo().join("deploy/entrypoint.sh"))
        .args(["cloud", "--log", "debug"])
        .env("PATH", &path)
        .env("TMPDIR", t.path())
        .env("PITBOX_SIGNING_KEY_PEM", pem)
        .output()
        .expect("run entrypoint");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{text}{}", String::from_utf8_lossy(&out.stderr));
    assert!(text.contains("args=cloud --log debug"), "{text}");
    assert!(text.contains(&format!("file={}/pitbox-signing-key.pem", t.path().display())), "{text}");
    assert!(text.contains("pem_var=unset"), "the PEM must not stay in the environment: {text}");
    assert!(text.contains("mode=600"), "{text}");
    assert!(text.contains(pem), "{text}");

    // Without the variable nothing is written and the setting is left alone.
    let out = Command::new(repo().join("deploy/entrypoint.sh"))
        .arg("cloud")
        .env("PATH", &path)
        .env("TMPDIR", t.path())
        .env_remove("PITBOX_SIGNING_KEY_PEM")
        .env("PITBOX_CLOUD_SIGNING_KEY_FILE", "/keys/signing.pem")
        .output()
        .expect("run entrypoint");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("file=/keys/signing.pem"), "{text}");
}

#[test]
fn an_openssl_ed25519_key_is_one_the_cloud_loads() {
    let t = tempfile::tempdir().expect("tempdir");
    let key = t.path().join("signing.pem");
    let made = Command::new("openssl").args(["genpkey", "-algorithm", "ed25519", "-out"]).arg(&key).output();
    match made {
        Ok(o) if o.status.success() => {}
        _ => {
            pitbox_testkit::skip("an_openssl_ed25519_key_is_one_the_cloud_loads", "openssl is not installed");
            return;
        }
    }
    let keys = pitbox_cloud::token::Keys::load(t.path(), Some(&key)).expect("the cloud loads the openssl key");
    assert!(!keys.kid().is_empty());
}
