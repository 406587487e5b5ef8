//! iRacing's session-info "YAML": any text parses to a tree or a line-numbered error.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    // Session info is latin-1: every byte is a character.
    let text: String = data.iter().map(|&b| b as char).collect();
    if let Ok(tree) = pitbox_irsdk::yaml::parse(&text) {
        let _ = tree.path("DriverInfo.Drivers[0].UserName");
        let _ = tree.to_json();
        let _ = pitbox_irsdk::SessionInfo::from_tree(tree);
    }
});
